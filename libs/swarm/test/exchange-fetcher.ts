import { BlockRefusedError, BlockVerificationError, PeerDeniedError, ProtocolError, RequestTimeoutError, type ChunkExchange } from '@codio/exchange'
import { RefusalCode } from '@codio/proto'
import type { BlockFetcher, FetchFailure } from '../src/index.js'

/** The typed failure of each error class of the chunk exchange (a refusal: by its code). */
const FAILURES: Array<[new (...args: any[]) => Error, FetchFailure]> = [
  [BlockVerificationError, 'verification'], [RequestTimeoutError, 'timeout'], [PeerDeniedError, 'denied'], [ProtocolError, 'protocol']
]

/**
 * A real ChunkExchange as a download's fetcher, as `exchangeFetcher` of @codio/peer makes it
 * (this package cannot depend on @codio/peer, which depends on it).
 */
export function fetcherOf (exchange: ChunkExchange): BlockFetcher {
  return {
    async fetch (peer, cid, options) {
      try {
        return { ok: true, block: await exchange.fetch(peer, cid, options) }
      } catch (error: any) {
        const refusal = error instanceof BlockRefusedError ? (error.code === RefusalCode.CHOKED ? 'choked' : 'refused') : undefined
        const failure = options?.signal?.aborted === true ? 'aborted' : refusal ?? FAILURES.find(([type]) => error instanceof type)?.[1] ?? 'unreachable'
        return { ok: false, failure, error }
      }
    }
  }
}
