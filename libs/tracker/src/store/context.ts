import type { Redis } from 'ioredis'
import { StoreError, StoreUnavailableError } from '../errors.js'
import type { TrackerKeys } from './keys.js'
import { SCRIPTS, type ScriptName } from './scripts.js'

/** What the store keeps of hostile or runaway gossip (see TrackerStoreInit). */
export interface StoreLimits {
  /** A message timestamped past now + this is refused, ms. */
  readonly maxClockSkewMs: number
  /** Contents kept per peer. */
  readonly maxContentsPerPeer: number
  /** Contents kept per peer that no observer has reported a chunk from yet. */
  readonly maxContentsUnproven: number
  /** Peers tracked at once (heard from within the peer timeout). */
  readonly maxPeers: number
}

/** What every store operation needs. */
export interface StoreContext {
  readonly redis: Redis
  readonly prefix: string
  readonly keys: TrackerKeys
  readonly peerTimeoutMs: number
  readonly loadWindowMs: number
  readonly loadHalf: number
  readonly limits: StoreLimits
  readonly now: () => number
  /** Run a script; string replies. */
  run(name: ScriptName, args: Array<string | Buffer>): Promise<unknown>
  /** Run a script; bulk replies as Buffers (for bitfields). */
  runBuffer(name: ScriptName, args: Array<string | Buffer>): Promise<unknown>
}

type ScriptFn = (...args: Array<string | Buffer>) => Promise<unknown>

/** Register the tracker's Lua scripts on `redis` (EVALSHA with EVAL fallback) and return callers. */
export function defineScripts (redis: Redis): Pick<StoreContext, 'run' | 'runBuffer'> {
  for (const [name, lua] of Object.entries(SCRIPTS)) redis.defineCommand(name, { numberOfKeys: 0, lua })
  const fns = redis as unknown as Record<string, ScriptFn>
  return {
    run: async (name, args) => fns[name].apply(redis, args),
    runBuffer: async (name, args) => fns[`${name}Buffer`].apply(redis, args)
  }
}

// Error replies that mean "Redis cannot serve right now", not "the tracker sent nonsense".
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|READONLY|NOREPLICAS)\b/

/**
 * Run a Redis operation, turning failures into the store's typed errors.
 *
 * @throws StoreUnavailableError when Redis is disconnected, times out, or replies that it
 *   cannot serve now (LOADING, BUSY, …)
 * @throws StoreError for any other error reply
 */
export async function storeCall<T> (what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    throw toStoreError(what, err)
  }
}

export function toStoreError (what: string, err: unknown): Error {
  if (err instanceof StoreUnavailableError || err instanceof StoreError) return err
  const e = err as Error
  if (e?.name === 'ReplyError' && !TRANSIENT_REPLY.test(e.message)) return new StoreError(`${what}: Redis replied ${e.message}`, { cause: err })
  return new StoreUnavailableError(`${what}: Redis unavailable (${e?.message ?? String(err)})`, { cause: err })
}

/** Results of a pipeline, or the first error in it as a typed store error. */
export function pipelineResults (what: string, results: Array<[Error | null, unknown]> | null): unknown[] {
  if (results === null) throw new StoreUnavailableError(`${what}: Redis unavailable (pipeline discarded)`)
  return results.map(([err, value]) => {
    if (err !== null) throw toStoreError(what, err)
    return value
  })
}
