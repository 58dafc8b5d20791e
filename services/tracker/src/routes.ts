import { TrackerService } from '@codio/proto'
import { availabilityEntryToProto, InvalidRequestError, peerCandidateToProto, peerMetricsToProto, type TrackerStore } from '@codio/tracker'
import type { ConnectRouter } from '@connectrpc/connect'
import type { Logger } from '@codio/telemetry'
import { toConnectError } from './errors.js'
import type { TrackerMetrics } from './metrics.js'
import { rpcCall } from './rpc-call.js'

/**
 * ConnectRPC routes of `codio.tracker.v1.TrackerService` over `store`. Handlers are thin:
 * time and count the call, ask the store, turn typed errors into Connect codes
 * (InvalidArgument, NotFound, Unavailable when Redis is down, Internal).
 */
export function trackerRoutes (store: TrackerStore, metrics: TrackerMetrics, log: Logger): (router: ConnectRouter) => void {
  const handle = rpcCall(metrics, log, toConnectError)

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
