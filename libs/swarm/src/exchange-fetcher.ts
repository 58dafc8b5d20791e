import { BlockRefusedError, BlockVerificationError, PeerDeniedError, ProtocolError, RequestTimeoutError, type ChunkExchange } from '@codio/exchange'
import { RefusalCode } from '@codio/proto'
import type { BlockFetcher, FetchFailure } from './fetcher.js'

/**
 * The failure a download acts on for an error of `ChunkExchange.fetch` (see {@link FetchFailure}). A request whose signal fired is `aborted` whatever it failed with.
 */
export function fetchFailure (err: unknown, signal?: AbortSignal): FetchFailure {
  if (signal?.aborted === true) return 'aborted'
  if (err instanceof BlockRefusedError) return err.code === RefusalCode.CHOKED ? 'choked' : 'refused'
  if (err instanceof BlockVerificationError) return 'verification'
  if (err instanceof RequestTimeoutError) return 'timeout'
  if (err instanceof PeerDeniedError) return 'denied'
  if (err instanceof ProtocolError) return 'protocol'
  // a dial that failed, a connection or stream reset
  return 'unreachable'
}

/**
 * A download's {@link BlockFetcher} over the chunk exchange: verified bytes, or the typed
 * failure of its error ({@link fetchFailure}), with the error kept.
 */
export function exchangeFetcher (exchange: Pick<ChunkExchange, 'fetch'>): BlockFetcher {
  return {
    async fetch (peer, cid, options) {
      try {
        return { ok: true, block: await exchange.fetch(peer, cid, options) }
      } catch (err: any) {
        return { ok: false, failure: fetchFailure(err, options?.signal), error: err }
      }
    }
  }
}
