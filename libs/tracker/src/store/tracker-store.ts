import type { Redis } from 'ioredis'
import { DEFAULT_KEY_PREFIX, DEFAULT_LOAD_HALF, DEFAULT_LOAD_WINDOW_MS, DEFAULT_MAX_CLOCK_SKEW_MS, DEFAULT_MAX_CONTENTS_PER_PEER, DEFAULT_MAX_CONTENTS_UNPROVEN, DEFAULT_MAX_PEERS, DEFAULT_PEER_TIMEOUT_MS } from '../constants.js'
import { InvalidRequestError } from '../errors.js'
import { isPeerId } from '../ids.js'
import type { ApplyResult, AvailabilityEntry, AvailabilityQuery, AvailabilityUpdate, MetricsUpdate, PeerMetrics, SelectedPeer, SelectRequest } from '../types.js'
import { applyAvailability, applyMetrics, contentLimit } from './apply.js'
import { defineScripts, storeCall, type StoreContext } from './context.js'
import { trackerKeys } from './keys.js'
import { getPeerMetrics, listAvailability } from './queries.js'
import { selectPeers } from './select.js'

export interface TrackerStoreInit {
  /** An ioredis client, ideally from `createTrackerRedis` (fails fast when Redis is away). */
  redis: Redis
  /** Default `codio:tracker:`. */
  keyPrefix?: string
  /** Offline after this long without gossip; expiry of every key, ms. Default 300 000 (5 min). */
  peerTimeoutMs?: number
  /** Window in which SelectPeers counts hand-outs per peer, ms. Default 30 000. */
  loadWindowMs?: number
  /** Hand-outs in the window that halve a peer's score. Default 8. */
  loadHalf?: number
  /** A gossip message timestamped past now + this is refused, ms. Default 60 000. */
  maxClockSkewMs?: number
  /** Contents kept per peer. Default 100 000. */
  maxContentsPerPeer?: number
  /** Contents kept per peer no observer has reported a chunk received from yet. Default 1000. */
  maxContentsUnproven?: number
  /** Peers tracked at once (heard from within the peer timeout); a new one past it is refused. Default 50 000. */
  maxPeers?: number
  /** Clock, Unix ms. Default `Date.now`. */
  now?: () => number
}

/**
 * The tracker's state in Redis (layout in keys.ts) and the operations on it. Stateless in
 * process: any number of trackers over the same Redis (same prefix, timeout and load settings)
 * give the same answers for the same Redis state (up to their clocks' difference at the
 * online/offline boundary). Does not own the Redis client.
 */
export class TrackerStore {
  private readonly ctx: StoreContext

  constructor (init: TrackerStoreInit) {
    const prefix = init.keyPrefix ?? DEFAULT_KEY_PREFIX
    this.ctx = {
      redis: init.redis,
      prefix,
      keys: trackerKeys(prefix),
      peerTimeoutMs: init.peerTimeoutMs ?? DEFAULT_PEER_TIMEOUT_MS,
      loadWindowMs: init.loadWindowMs ?? DEFAULT_LOAD_WINDOW_MS,
      loadHalf: init.loadHalf ?? DEFAULT_LOAD_HALF,
      limits: {
        maxClockSkewMs: init.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS,
        maxContentsPerPeer: init.maxContentsPerPeer ?? DEFAULT_MAX_CONTENTS_PER_PEER,
        maxContentsUnproven: init.maxContentsUnproven ?? DEFAULT_MAX_CONTENTS_UNPROVEN,
        maxPeers: init.maxPeers ?? DEFAULT_MAX_PEERS
      },
      now: init.now ?? Date.now,
      ...defineScripts(init.redis)
    }
  }

  get peerTimeoutMs (): number { return this.ctx.peerTimeoutMs }

  /** See {@link applyAvailability}: whether it was applied, why not, what was left out. */
  async applyAvailability (update: AvailabilityUpdate): Promise<ApplyResult> { return applyAvailability(this.ctx, update) }

  /** See {@link applyMetrics}: whether it was applied, why not, what was left out. */
  async applyMetrics (update: MetricsUpdate): Promise<ApplyResult> { return applyMetrics(this.ctx, update) }

  /**
   * How many contents of `peerId` are kept ({@link contentLimit}): decode no more of its
   * availability message than this. @throws InvalidRequestError, StoreUnavailableError
   */
  async contentLimit (peerId: string): Promise<number> {
    this.checkPeer(peerId)
    return contentLimit(this.ctx, peerId)
  }

  /** See {@link selectPeers}. */
  async selectPeers (request: SelectRequest): Promise<SelectedPeer[]> { return selectPeers(this.ctx, request) }

  /** See {@link getPeerMetrics}. */
  async getPeerMetrics (peerId: string): Promise<PeerMetrics> { return getPeerMetrics(this.ctx, peerId) }

  /** See {@link listAvailability}. */
  async listAvailability (query: AvailabilityQuery): Promise<AvailabilityEntry[]> { return listAvailability(this.ctx, query) }

  /**
   * Never hand `peerId` out again (until {@link unban}); shared by all replicas. The banned set
   * is an operator's list, read whole by every SelectPeers: meant for tens, not thousands.
   * @throws InvalidRequestError, StoreUnavailableError
   */
  async ban (peerId: string): Promise<void> {
    this.checkPeer(peerId)
    await storeCall('ban', async () => this.ctx.redis.sadd(this.ctx.keys.banned, peerId))
  }

  /** @throws InvalidRequestError, StoreUnavailableError */
  async unban (peerId: string): Promise<void> {
    this.checkPeer(peerId)
    await storeCall('unban', async () => this.ctx.redis.srem(this.ctx.keys.banned, peerId))
  }

  /** Banned peer IDs, sorted. @throws StoreUnavailableError */
  async banned (): Promise<string[]> {
    return (await storeCall('banned', async () => this.ctx.redis.smembers(this.ctx.keys.banned))).sort()
  }

  /** Resolves when Redis answers a PING. @throws StoreUnavailableError */
  async ping (): Promise<void> {
    await storeCall('ping', async () => this.ctx.redis.ping())
  }

  private checkPeer (peerId: string): void {
    if (!isPeerId(peerId)) throw new InvalidRequestError(`${JSON.stringify(peerId.slice(0, 80))} is not a peer ID`)
  }
}
