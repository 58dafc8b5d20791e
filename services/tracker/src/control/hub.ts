import type { Logger } from '@codio/telemetry'
import type { ClusterState, ControlEvent, ControlStore } from '@codio/tracker'
import type { Redis } from 'ioredis'

/** An event for the Watch streams of this replica; `resync` = Redis was away, send every watcher a fresh snapshot. */
export type HubEvent = ControlEvent | { kind: 'resync' }

/** Longest a snapshot is shared, ms. */
const SNAPSHOT_MAX_AGE_MS = 1000

export interface HubSubscriber {
  push(e: HubEvent): void
  /** The hub stops: end the stream. */
  close(): void
}

export interface EventHubInit {
  store: ControlStore
  /** The tracker's client; the hub duplicates it for a connection of its own (XREAD BLOCK holds a connection). */
  redis: Redis
  /** Longest XREAD BLOCK, ms. Default 5000. */
  blockMs?: number
  /** Wait after a failed read before the next, ms. Default 500. */
  retryMs?: number
  log: Logger
}

/**
 * One replica's tail of the control event stream (Redis stream `ev`), fanned out to the Watch
 * streams this replica serves. Every replica tails the whole stream on a dedicated connection
 * (XREAD BLOCK from the last ID it read), so a change made through any replica reaches the
 * watchers of all of them, and none is skipped between two reads.
 *
 * Why a Redis stream and not NATS: the events decide what every node purges, bans and trusts.
 * NATS subjects can be published to by anything that reaches the bus, whereas these events are
 * written only by authenticated ControlService calls (admin scope) into the tracker's own
 * Redis, and reach nodes over the authenticated Watch stream (node scope). A stream also keeps
 * the last ~10 000 events, so a node that was away resumes with `after_event_id`.
 */
export class EventHub {
  private readonly init: EventHubInit
  private readonly subscribers = new Set<HubSubscriber>()
  private conn: Redis | undefined
  private loop: Promise<void> | undefined
  private stopped = false
  private lastId: string | undefined
  private wake: (() => void) | undefined
  private readonly snapshots = new Map<string, { promise: Promise<ClusterState>, at: number }>()

  constructor (init: EventHubInit) {
    this.init = init
  }

  /** Watch streams this replica serves. */
  get size (): number { return this.subscribers.size }

  /** Start tailing in the background; Redis need not be up yet. */
  start (): void {
    if (this.loop !== undefined) return
    const blockMs = this.init.blockMs ?? 5000
    // its reads may wait for the connection (the offline queue), bounded by the command timeout
    this.conn = this.init.redis.duplicate({ commandTimeout: blockMs + 2000, lazyConnect: false, enableOfflineQueue: true })
    this.conn.on('error', () => {}) // the tracker's own client reports Redis outages
    this.loop = this.run(blockMs)
  }

  /** Receive every event read from now on, until the returned function is called or the hub stops. */
  subscribe (s: HubSubscriber): () => void {
    if (this.stopped) {
      s.close()
      return () => {}
    }
    this.subscribers.add(s)
    return () => { this.subscribers.delete(s) }
  }

  /**
   * The state of `role` (ControlStore.clusterState), shared by the streams of this replica: one
   * Redis read per role and change, not one per watcher. Dropped whenever a state event (or a
   * resync) is read, and after one second at most (bans expire without an event).
   */
  async snapshot (role: string): Promise<ClusterState> {
    const hit = this.snapshots.get(role)
    if (hit !== undefined && Date.now() - hit.at < SNAPSHOT_MAX_AGE_MS) return await hit.promise
    const promise = this.init.store.clusterState(role)
    const entry = { promise, at: Date.now() }
    this.snapshots.set(role, entry)
    promise.catch(() => { if (this.snapshots.get(role) === entry) this.snapshots.delete(role) })
    return await promise
  }

  /** Stop tailing and end every subscriber's stream. */
  async stop (): Promise<void> {
    this.stopped = true
    this.wake?.()
    this.conn?.disconnect() // interrupts a pending XREAD BLOCK
    await this.loop
    // each stream unsubscribes as it ends, so `size` tells the caller when they all have
    for (const s of [...this.subscribers]) s.close()
  }

  private async run (blockMs: number): Promise<void> {
    const { store, log } = this.init
    let failed = false
    while (!this.stopped) {
      try {
        this.lastId ??= await store.lastEventId()
        const { events, lastId } = await store.waitEvents(this.conn!, this.lastId, blockMs)
        if (this.stopped) break
        if (failed) {
          failed = false
          log.info('control event stream readable again')
          this.broadcast({ kind: 'resync' })
        }
        for (const e of events) this.broadcast(e)
        this.lastId = lastId
      } catch (err) {
        if (this.stopped) break
        if (!failed) log.warn({ err: (err as Error).message }, 'control event stream not readable; retrying')
        failed = true
        await new Promise<void>(resolve => {
          const timer = setTimeout(resolve, this.init.retryMs ?? 500)
          this.wake = () => { clearTimeout(timer); resolve() }
        })
        this.wake = undefined
      }
    }
  }

  private broadcast (e: HubEvent): void {
    // before the streams hear of it, so that their next snapshot reads the change
    if (e.kind === 'state' || e.kind === 'resync') this.snapshots.clear()
    for (const s of this.subscribers) s.push(e)
  }
}
