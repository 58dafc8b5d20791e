import { TrackerClient } from '@codio/tracker'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Logger } from '@codio/telemetry'
import type { PeerId } from '@libp2p/interface'
import type { PeerMetrics } from './metrics.js'
import type { ProviderSource } from './provider-search.js'

/** Holders one tracker lookup asks for (SelectPeers `count`). */
export const TRACKER_SELECT_COUNT = 20

/** Default time limit of one tracker lookup (ms): past it the DHT answers. */
export const TRACKER_TIMEOUT_MS = 500

/** Shortest pause between two warnings that the tracker refused a lookup (ms). */
export const TRACKER_WARNING_INTERVAL_MS = 60_000

export interface TrackerSourceInit {
  /** Base URL of the TrackerService (config `tracker.url`). */
  url: string
  /** ms; default {@link TRACKER_TIMEOUT_MS} */
  timeoutMs?: number
  /** Bearer token file for the tracker (config `tracker.tokenFile`). */
  tokenFile?: string
}

export interface TrackerSourceComponents {
  /** This node: the tracker leaves the requester out of its answer. */
  peerId: PeerId
  metrics: Pick<PeerMetrics, 'trackerLookups' | 'trackerLookupDuration'>
  log: Logger
}

/**
 * The tracker as a {@link ProviderSource}: SelectPeers for up to {@link TRACKER_SELECT_COUNT}
 * holders of a content, best first, as peer IDs with multiaddrs (an entry whose ID or address
 * does not parse is left out). Answers `undefined` — the DHT answers instead — when the tracker
 * is slow or unreachable, and when it refuses (a wrong or missing `tokenFile`, a tracker bug),
 * which is also logged at most once per {@link TRACKER_WARNING_INTERVAL_MS}. Every lookup counts
 * in `codio_tracker_lookups_total{result}` and `codio_tracker_lookup_duration_seconds{result}`
 * (`peers`, `empty`, `unavailable`, `error`).
 */
export function trackerProviderSource (components: TrackerSourceComponents, init: TrackerSourceInit): ProviderSource {
  const { peerId, metrics, log } = components
  const client = new TrackerClient({ baseUrl: init.url, timeoutMs: init.timeoutMs ?? TRACKER_TIMEOUT_MS, tokenFile: init.tokenFile })
  let lastWarning = 0
  return {
    select: async (cid, signal) => {
      let peers: Awaited<ReturnType<typeof client.trySelectPeers>>
      const t0 = performance.now()
      const done = (result: string): void => {
        metrics.trackerLookups.inc({ result })
        metrics.trackerLookupDuration.observe({ result }, (performance.now() - t0) / 1000)
      }
      try {
        peers = await client.trySelectPeers(cid.toString(), TRACKER_SELECT_COUNT, { requesterPeerId: peerId.toString(), signal })
      } catch (err) {
        // refused (a wrong or missing tracker.tokenFile) or a tracker bug: the DHT answers, and the operator hears of it
        done('error')
        if (Date.now() - lastWarning > TRACKER_WARNING_INTERVAL_MS) {
          lastWarning = Date.now()
          log.warn({ err: (err as Error).message, code: (err as { code?: string }).code }, 'tracker lookup refused; using the DHT')
        }
        return undefined
      }
      done(peers == null ? 'unavailable' : peers.length === 0 ? 'empty' : 'peers')
      if (peers == null) return undefined
      return peers.flatMap(p => {
        try {
          return [{ id: peerIdFromString(p.peerId), multiaddrs: p.multiaddrs.map(a => multiaddr(a)) }]
        } catch {
          return []
        }
      })
    }
  }
}
