/** The upload is larger than `ingest.maxUploadBytes`. */
export class UploadTooLargeError extends Error {
  override readonly name = 'UploadTooLargeError'
}

/** The upload ended before its announced Content-Length, or the client went away. */
export class UploadIncompleteError extends Error {
  override readonly name = 'UploadIncompleteError'
}

/** A request parameter is out of range or malformed. */
export class BadRequestError extends Error {
  override readonly name = 'BadRequestError'
}
