/** No provider of the content was found within the lookup time limit. */
export class ContentNotFoundError extends Error {
  override readonly name = 'ContentNotFoundError'
}

/** Providers were found but none delivered the manifest. */
export class ManifestUnavailableError extends Error {
  override readonly name = 'ManifestUnavailableError'
}
