import { ControlService, type control } from '@codio/proto'
import type { Logger } from '@codio/telemetry'
import {
  banToProto, clusterConfigToProto, InvalidRequestError, jobStateFromProto, jobToProto, MAX_LIST_JOBS, type ControlStore
} from '@codio/tracker'
import { Code, type ConnectRouter } from '@connectrpc/connect'
import type { TrackerMetrics } from '../metrics.js'
import { rpcCall } from '../rpc-call.js'
import { isNodeRole, nextClusterDocument } from './cluster-check.js'
import { controlError } from './errors.js'
import type { EventHub } from './hub.js'
import { watchStream } from './watch.js'

/** ListJobs without a limit returns this many. */
const DEFAULT_LIST_JOBS = 50

export interface ControlRoutesInit {
  store: ControlStore
  hub: EventHub
  metrics: TrackerMetrics
  log: Logger
  /** Watch heartbeat interval, ms (default 15 s). */
  heartbeatMs?: number
}

function knownRole (role: string): asserts role is 'edge' | 'relay' | 'origin' {
  if (!isNodeRole(role)) throw new InvalidRequestError(role === '' ? 'role is empty' : `${JSON.stringify(role.slice(0, 80))} is not a role (edge, relay, origin)`)
}

/**
 * ConnectRPC routes of `codio.tracker.v1.ControlService` (control.proto has the spec), served on
 * the tracker's RPC listener beside TrackerService and behind the same bearer-token
 * interceptor. Handlers are thin: count and time the call, ask the ControlStore (Redis, shared
 * by every replica), turn typed errors into Connect codes: InvalidArgument (bad input, every bad
 * config key), FailedPrecondition (a key needing a restart), Aborted (stale expected_version),
 * NotFound (unknown job), Unavailable (Redis away).
 */
export function controlRoutes (init: ControlRoutesInit): (router: ConnectRouter) => void {
  const { store, hub, metrics, log } = init
  const handle = rpcCall(metrics, log, controlError)

  return (router) => {
    router.service(ControlService, {
      getClusterConfig: async (req) => handle('GetClusterConfig', async () => {
        knownRole(req.role)
        return { config: clusterConfigToProto(await store.getClusterConfig(req.role)) }
      }),
      updateClusterConfig: async (req) => handle('UpdateClusterConfig', async () => {
        const role = req.role
        knownRole(role)
        const doc = await store.updateClusterConfig(role, Number(req.expectedVersion), (current) => nextClusterDocument(role, current.config, req.config ?? {}, req.updateMask))
        log.info({ role, version: doc.version, paths: req.updateMask }, 'cluster config updated')
        return { config: clusterConfigToProto(doc) }
      }),
      purge: async (req) => handle('Purge', async () => {
        const eventId = await store.purge(req.contentId)
        log.info({ contentId: req.contentId, eventId }, 'fleet purge')
        return { eventId }
      }),
      banPeer: async (req) => handle('BanPeer', async () => {
        const ban = await store.banPeer(req.peerId, req.reason, req.durationSeconds)
        log.info({ peerId: ban.peerId, expiresMs: ban.expiresMs }, 'fleet ban')
        return {}
      }),
      unbanPeer: async (req) => handle('UnbanPeer', async () => ({ lifted: await store.unbanPeer(req.peerId) })),
      listBans: async () => handle('ListBans', async () => ({ bans: (await store.listBans()).map(banToProto) })),
      trustKey: async (req) => handle('TrustKey', async () => { await store.trustKey(req.publicKey); return {} }),
      revokeKey: async (req) => handle('RevokeKey', async () => {
        await store.revokeKey(req.publicKey)
        log.info({ publicKey: req.publicKey }, 'fleet key revoked')
        return {}
      }),
      listKeys: async () => handle('ListKeys', async () => await store.listKeys()),
      createPreheatJob: async (req) => handle('CreatePreheatJob', async () => {
        if (req.role !== '') knownRole(req.role)
        const { job } = await store.createPreheatJob({ contentIds: req.contentIds, role: req.role, peerIds: req.peerIds })
        log.info({ jobId: job.id, contents: job.contentIds.length, role: job.role, peers: job.peerIds.length }, 'preheat job created')
        return { job: jobToProto(job) }
      }),
      getJob: async (req) => handle('GetJob', async () => ({ job: jobToProto(await store.getJob(req.id)) })),
      listJobs: async (req) => handle('ListJobs', async () => {
        const limit = req.limit === 0 ? DEFAULT_LIST_JOBS : Math.min(req.limit, MAX_LIST_JOBS)
        return { jobs: (await store.listJobs(limit)).map(jobToProto) }
      }),
      reportJobProgress: async (req) => handle('ReportJobProgress', async () => {
        const p = req.progress
        if (p === undefined) throw new InvalidRequestError('progress is missing')
        const state = jobStateFromProto(p.state)
        if (state === undefined || state === 'pending') throw new InvalidRequestError('progress state must be RUNNING, SUCCEEDED or FAILED')
        await store.reportJobProgress(req.jobId, { peerId: p.peerId, state, contentsDone: p.contentsDone, contentsTotal: p.contentsTotal, bytesDone: Number(p.bytesDone), error: p.error })
        return {}
      }),
      watch: (req, ctx) => watchCounted(req, ctx.signal)
    })
  }

  async function * watchCounted (req: control.WatchRequest, signal: AbortSignal): AsyncGenerator<control.WatchResponse> {
    metrics.rpcRequests.inc({ method: 'Watch', code: 'started' })
    try {
      yield * watchStream(req, signal, { store, hub, isKnownRole: isNodeRole, heartbeatMs: init.heartbeatMs })
    } catch (err) {
      const ce = controlError(err)
      metrics.rpcRequests.inc({ method: 'Watch', code: Code[ce.code] })
      if (ce.code === Code.Internal) log.error({ method: 'Watch', err: ce.message }, 'rpc failed')
      throw ce
    }
  }
}
