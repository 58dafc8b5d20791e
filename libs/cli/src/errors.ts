/**
 * One class per way a `codio` command can fail. Callers branch on `name` or
 * `instanceof`, never on message text; `bin.ts` prints `message` and exits 1.
 */

/** The file given to `publish` does not exist or is not a regular file. */
export class FileNotFoundError extends Error {
  override name = 'FileNotFoundError'
  constructor (readonly path: string, message = `no such file: ${path}`, options?: ErrorOptions) {
    super(message, options)
  }
}

/** The file given to `publish` exists but could not be read (permissions, I/O error). */
export class FileReadError extends Error {
  override name = 'FileReadError'
}

/** No origin/edge URL from the flag, the environment or `.codio/cluster.json`. */
export class MissingEndpointError extends Error {
  override name = 'MissingEndpointError'
}

/** `.codio/cluster.json` exists but cannot be read or has the wrong shape. */
export class ClusterFileError extends Error {
  override name = 'ClusterFileError'
}

/** A flag or argument has a value the command cannot use (bad URL, bad size, empty CID). */
export class InvalidOptionError extends Error {
  override name = 'InvalidOptionError'
}

/** The origin or edge answered with a non-2xx status; `code` and `reason` come from its JSON body. */
export class ServerError extends Error {
  override name = 'ServerError'
  constructor (readonly status: number, readonly code: string, readonly reason: string, message: string) {
    super(message)
  }
}

/** The server answered 2xx but the body is not the JSON the API promises. */
export class BadResponseError extends Error {
  override name = 'BadResponseError'
}

/** The connection failed before a response arrived (refused, reset, DNS). */
export class ConnectionError extends Error {
  override name = 'ConnectionError'
}

/** The response body ended before `Content-Length` bytes arrived. */
export class TruncatedBodyError extends Error {
  override name = 'TruncatedBodyError'
  constructor (readonly expected: number, readonly received: number, options?: ErrorOptions) {
    super(`download truncated: received ${received} of ${expected} bytes`, options)
  }
}

/** The operation was cancelled through its AbortSignal (Ctrl-C). */
export class AbortedError extends Error {
  override name = 'AbortedError'
}

/** `keygen` would overwrite an existing key file without `--force`. */
export class KeyFileExistsError extends Error {
  override name = 'KeyFileExistsError'
  constructor (readonly path: string) {
    super(`key file already exists: ${path} (pass --force to overwrite it)`)
  }
}

/** `token -o FILE` would replace an existing token file (without `--if-missing`). */
export class TokenFileExistsError extends Error {
  override name = 'TokenFileExistsError'
  constructor (readonly path: string) {
    super(`token file already exists: ${path} (pass --if-missing to keep it)`)
  }
}

/**
 * An admin or tracker ConnectRPC call failed. `code` is the Connect code's wire name
 * (`unimplemented`, `unauthenticated`, `invalid_argument`, ...); `message` is
 * `<code>: <server message>` with a hint for the codes an operator can act on.
 */
export class AdminCallError extends Error {
  override name = 'AdminCallError'
  constructor (readonly code: string, readonly reason: string, readonly url: string, hint?: string, options?: ErrorOptions) {
    super(`${code}: ${reason}${hint == null ? '' : ` (${hint})`}`, options)
  }
}

/** `codio admin preheat --wait`: the job ended FAILED on at least one node. */
export class JobFailedError extends Error {
  override name = 'JobFailedError'
}
