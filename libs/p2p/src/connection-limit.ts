import type { Connection, Logger, PeerId, PeerStore } from '@libp2p/interface'
import { PROTOCOL_PREFIX } from './constants.js'

/** Protocols that run by themselves on a fresh connection, so their streams do not make it "busy". */
const SPECULATIVE_PROTOCOLS = new Set([
  `/${PROTOCOL_PREFIX}/id/1.0.0`,
  `/${PROTOCOL_PREFIX}/id/push/1.0.0`,
  `/${PROTOCOL_PREFIX}/ping/1.0.0`,
  `/${PROTOCOL_PREFIX}/kad/1.0.0`
])

/** Delay between a connection opening and the limit check, ms: lets identify finish first. */
const SETTLE_MS = 100

/** Re-check interval while still over the limit (a close that did not take), ms. */
const RECHECK_MS = 1_000

export interface LimitedConnections {
  getConnections(peerId?: PeerId): Connection[]
  getMaxConnections(): number
}

/**
 * Backstop for `maxConnections`. libp2p refuses an inbound connection when the node is at its
 * limit, but connections upgrading concurrently all pass that check, and libp2p's pruner skips
 * any connection with a stream open on a protocol outside its fixed `/ipfs/id` list — which
 * every fresh Codio connection has (`/codio/id/1.0.0`). So after connections open this closes
 * the excess: kept-alive peers last, then by peer-store tag value (low first), idle before busy
 * (a stream on a non-speculative protocol such as a chunk transfer), fewer streams first,
 * inbound before outbound, newest first — libp2p's pruning order (connection-pruner.ts) with
 * our protocols counted as speculative.
 */
export class ConnectionLimiter {
  private timer?: ReturnType<typeof setTimeout>
  private running = false
  private started = false

  constructor (
    private readonly connections: LimitedConnections,
    private readonly peerStore: PeerStore,
    private readonly isKeptAlive: (peerId: PeerId) => boolean,
    private readonly log: Logger
  ) {}

  start (): void {
    this.started = true
  }

  stop (): void {
    this.started = false
    clearTimeout(this.timer)
    this.timer = undefined
  }

  /** A connection opened: check the limit shortly. */
  opened (): void {
    this.schedule(SETTLE_MS)
  }

  private schedule (ms: number): void {
    if (!this.started || this.timer != null) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.prune()
    }, ms)
    this.timer.unref?.()
  }

  /** Close connections beyond the limit; returns how many were closed. */
  async prune (): Promise<number> {
    if (this.running || !this.started) return 0
    this.running = true
    try {
      const open = this.connections.getConnections().filter(c => c.status === 'open')
      const excess = open.length - this.connections.getMaxConnections()
      if (excess <= 0) return 0
      const value = new Map<string, number>()
      for (const c of open) {
        const key = c.remotePeer.toString()
        if (value.has(key)) continue
        let sum = 0
        try {
          const peer = await this.peerStore.get(c.remotePeer)
          for (const tag of peer.tags.values()) sum += tag.value
        } catch {}
        value.set(key, sum)
      }
      const busy = (c: Connection): number => c.streams.some(s => s.protocol != null && !SPECULATIVE_PROTOCOLS.has(s.protocol)) ? 1 : 0
      const victims = open
        .map(c => ({ c, pinned: this.isKeptAlive(c.remotePeer) ? 1 : 0, value: value.get(c.remotePeer.toString()) ?? 0, busy: busy(c) }))
        .sort((a, b) =>
          a.pinned - b.pinned ||
          a.value - b.value ||
          a.busy - b.busy ||
          a.c.streams.length - b.c.streams.length ||
          (a.c.direction === b.c.direction ? 0 : a.c.direction === 'inbound' ? -1 : 1) ||
          b.c.timeline.open - a.c.timeline.open)
        .slice(0, excess)
      this.log('%d connections over the limit of %d, closing %d', open.length, this.connections.getMaxConnections(), victims.length)
      await Promise.all(victims.map(async ({ c }) => {
        try {
          await c.close({ signal: AbortSignal.timeout(1_000) })
        } catch (err: any) {
          c.abort(err)
        }
      }))
      return victims.length
    } finally {
      this.running = false
      if (this.started && this.connections.getConnections().filter(c => c.status === 'open').length > this.connections.getMaxConnections()) {
        this.schedule(RECHECK_MS)
      }
    }
  }
}
