import { Code, ConnectError } from '@connectrpc/connect'

/**
 * Domain error names and the Connect code each becomes at the RPC boundary: the one place
 * where the tracker's typed errors turn into codes.
 */
const CODES: Record<string, Code> = {
  InvalidRequestError: Code.InvalidArgument,
  PeerNotFoundError: Code.NotFound,
  StoreUnavailableError: Code.Unavailable,
  StoreError: Code.Internal
}

/** Any thrown value as a ConnectError with the code its type maps to (Internal when unknown). */
export function toConnectError (err: unknown): ConnectError {
  if (err instanceof ConnectError) return err
  const name = (err as Error | undefined)?.name ?? ''
  return ConnectError.from(err, CODES[name] ?? Code.Internal)
}
