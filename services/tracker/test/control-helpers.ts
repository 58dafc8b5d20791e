import { ControlWatcher, createControlClient, type ControlClient, type ControlSnapshot, type PreheatProgress } from '@codio/tracker'
import { createTracker, trackerConfigSchema, type Tracker } from '../src/index.js'
import { silent } from './helpers.js'

/** A tracker with a short Watch heartbeat; `redis` may be shared by replicas (same key prefix). */
export async function startControlTracker (natsUrl: string, redisUrl: string, keyPrefix: string, rpcPort = 0, extra: Record<string, unknown> = {}): Promise<Tracker> {
  const config = trackerConfigSchema.parse({
    http: { port: 0 },
    rpc: { port: rpcPort },
    nats: { servers: natsUrl },
    redis: { url: redisUrl, keyPrefix, commandTimeout: 500 },
    ...extra
  })
  const tracker = createTracker(config, silent, { watchHeartbeatMs: 200 })
  await tracker.start()
  return tracker
}

export const controlClient = (t: Tracker): ControlClient => createControlClient(t.rpcUrl, { timeoutMs: 5000 })

/** What a node's ControlWatcher handed to its handlers, in order. */
export interface Recorded {
  states: ControlSnapshot[]
  purges: string[]
  preheats: Array<{ jobId: string, contentIds: string[] }>
}

export interface WatcherOptions {
  /** Run by handlers.preheat (default: report running then resolve). */
  preheat?: (jobId: string, contentIds: string[], report: (p: PreheatProgress) => Promise<void>) => Promise<void>
  idleTimeoutMs?: number
  tokenFile?: string
}

/** A started ControlWatcher for a node `peerId` of `role`, recording what it applies. */
export function watcher (url: string, peerId: string, role: string, options: WatcherOptions = {}): ControlWatcher & { seen: Recorded } {
  const seen: Recorded = { states: [], purges: [], preheats: [] }
  const w = new ControlWatcher({
    url,
    peerId,
    role,
    backoffMs: 100,
    maxBackoffMs: 400,
    idleTimeoutMs: options.idleTimeoutMs ?? 2000,
    tokenFile: options.tokenFile,
    handlers: {
      state: async (s) => { seen.states.push(s) },
      purge: async (cid) => { seen.purges.push(cid) },
      preheat: async (jobId, contentIds, report) => {
        seen.preheats.push({ jobId, contentIds })
        if (options.preheat !== undefined) return await options.preheat(jobId, contentIds, report)
        await report({ state: 'running', contentsDone: 0, contentsTotal: contentIds.length, bytesDone: 0 })
      }
    }
  })
  w.start()
  return Object.assign(w, { seen })
}
