import { Code, ConnectError } from '@connectrpc/connect'
import { toConnectError } from '../errors.js'

/** The control plane's error names and their Connect codes; anything else as the tracker maps it. */
const CODES: Record<string, Code> = {
  VersionConflictError: Code.Aborted,
  JobNotFoundError: Code.NotFound,
  InvalidPublicKeyError: Code.InvalidArgument,
  ConfigError: Code.InvalidArgument,
  RestartRequiredError: Code.FailedPrecondition
}

/** Any thrown value as a ConnectError: control errors first, then the tracker's mapping (Unavailable, Internal, ...). */
export function controlError (err: unknown): ConnectError {
  const code = CODES[(err as Error | undefined)?.name ?? '']
  return code !== undefined && !(err instanceof ConnectError) ? ConnectError.from(err, code) : toConnectError(err)
}
