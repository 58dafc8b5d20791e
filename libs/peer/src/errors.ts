/** No provider of the content was found within the lookup time limit. */
export class ContentNotFoundError extends Error {
  override readonly name = 'ContentNotFoundError'
}

/** Providers were found but none delivered the manifest. */
export class ManifestUnavailableError extends Error {
  override readonly name = 'ManifestUnavailableError'
}

/** A ban request is out of range (duration, reason length). InvalidArgument at the admin API. */
export class InvalidBanError extends Error {
  override readonly name = 'InvalidBanError'
}

/** The node's ban file exists but cannot be read or parsed; the node refuses to start without its bans. */
export class BanFileError extends Error {
  override readonly name = 'BanFileError'
}
