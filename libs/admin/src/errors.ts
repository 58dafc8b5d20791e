import { Code, ConnectError } from '@connectrpc/connect'

/**
 * Domain error names and the Connect code each becomes at the RPC boundary. Callers below
 * the boundary throw their own typed errors; this is the one place they become codes.
 */
const CODES: Record<string, Code> = {
  InvalidCidError: Code.InvalidArgument,
  ContentNotFoundError: Code.NotFound,
  ChunkUnavailableError: Code.Unavailable,
  UntrustedPublisherError: Code.PermissionDenied,
  InvalidSignatureError: Code.PermissionDenied,
  ManifestDecodeError: Code.DataLoss,
  BlockVerificationError: Code.DataLoss,
  DownloadAbortedError: Code.Canceled,
  RequestTimeoutError: Code.DeadlineExceeded,
  TimeoutError: Code.DeadlineExceeded,
  ConfigError: Code.InvalidArgument,
  RestartRequiredError: Code.FailedPrecondition,
  InvalidPeerIdError: Code.InvalidArgument,
  InvalidBanError: Code.InvalidArgument,
  InvalidPublicKeyError: Code.InvalidArgument
}

/** Turn any thrown value into a ConnectError with the code its type maps to. */
export function toConnectError (err: unknown): ConnectError {
  if (err instanceof ConnectError) return err
  const name = (err as Error | undefined)?.name ?? ''
  const code = CODES[name] ?? Code.Internal
  return ConnectError.from(err, code)
}
