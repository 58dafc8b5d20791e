/** A token file cannot be read, holds no token, or holds a malformed one. Names the file, never a token. */
export class TokenFileError extends Error {
  override name = 'TokenFileError'
  constructor (readonly file: string, message: string, options?: ErrorOptions) {
    super(message, options)
  }
}

/**
 * A listener beyond loopback (or any listener with `auth.required = "always"`) would serve
 * calls that no configured token can make. The message names the settings to add.
 */
export class AuthRequiredError extends Error {
  override name = 'AuthRequiredError'
}

/** The certificate or key of a TLS listener cannot be read. */
export class TlsConfigError extends Error {
  override name = 'TlsConfigError'
}
