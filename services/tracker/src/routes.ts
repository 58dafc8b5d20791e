import { TrackerService } from '@codio/proto'
import { availabilityEntryToProto, InvalidRequestError, peerCandidateToProto, peerMetricsToProto, type TrackerStore } from '@codio/tracker'
import { Code, type ConnectRouter } from '@connectrpc/connect'
import type { Logger } from '@codio/telemetry'
import { toConnectError } from './errors.js'
import type { TrackerMetrics } from './metrics.js'

/**
 * ConnectRPC routes of `codio.tracker.v1.TrackerService` over `store`. Handlers are thin:
 * time and count the call, ask the store, turn typed errors into Connect codes
 * (InvalidArgument, NotFound, Unavailable when Redis is down, Internal).
 */
export function trackerRoutes (store: TrackerStore, metrics: TrackerMetrics, log: Logger): (router: ConnectRouter) => void {
  async function handle<T> (method: string, fn: () => Promise<T>): Promise<T> {
    const end = metrics.rpcDuration.startTimer({ method })
    try {
      const out = await fn()
      metrics.rpcRequests.inc({ method, code: 'ok' })
      return out
    } catch (err) {
      const ce = toConnectError(err)
      metrics.rpcRequests.inc({ method, code: Code[ce.code] })
      if (ce.code === Code.Internal) log.error({ method, err: ce.message }, 'rpc failed')
      throw ce
    } finally {
      end()
    }
  }

  return (router) => {
    router.service(TrackerService, {
      selectPeers: async (req) => handle('SelectPeers', async () => {
        const peers = await store.selectPeers({ contentId: req.contentId, count: req.count, exclude: req.exclude, requesterPeerId: req.requesterPeerId })
        return { peers: peers.map(peerCandidateToProto) }
      }),
      getPeerMetrics: async (req) => handle('GetPeerMetrics', async () => peerMetricsToProto(await store.getPeerMetrics(req.peerId))),
      listAvailability: async (req) => handle('ListAvailability', async () => {
        const includeOffline = req.includeOffline
        const key = req.key
        if (key.case === undefined) throw new InvalidRequestError('give a content ID or a peer ID')
        const entries = key.case === 'contentId'
          ? await store.listAvailability({ contentId: key.value, includeOffline })
          : await store.listAvailability({ peerId: key.value, includeOffline })
        return { entries: entries.map(availabilityEntryToProto) }
      })
    })
  }
}
