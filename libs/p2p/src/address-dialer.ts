import type { Connection, Logger, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Dialer, Reconnector } from './reconnector.js'

export interface AddressDialerEvents {
  /** An address answered as `peerId`: keep it. */
  held(peerId: PeerId, addr: Multiaddr): Promise<void>
  /** An address that answered as `peerId` now answers as another peer, and none stands for it. */
  released(peerId: PeerId): Promise<void>
  /** An address that stood for `peerId` is dialled again after it disconnected. */
  redial(peerId: PeerId): void
}

interface Named {
  addr: Multiaddr
  /** The peer the address answered as last time, while it is held. */
  peerId?: PeerId
  failures: number
  timer?: ReturnType<typeof setTimeout>
}

/**
 * Keeps bootstrap peers given by address alone, without `/p2p/<peer id>` (e.g.
 * `/dns4/relay-0.relay/tcp/4001`, a Kubernetes or compose service name): dials the address
 * with the {@link Reconnector}'s backoff until it answers, holds the peer the Noise handshake
 * authenticated, and when that peer's last connection closes dials the *address* again, so a
 * relay that comes back under another IP or another key is followed. An address that leads
 * back to this node (a relay whose shared bootstrap list names itself) is dropped.
 */
export class AddressDialer {
  private readonly named: Named[] = []
  private started = false

  constructor (
    private readonly self: PeerId,
    private readonly dialer: Dialer,
    private readonly backoff: Pick<Reconnector, 'delay'>,
    private readonly dialTimeoutMs: number,
    private readonly log: Logger,
    private readonly on: AddressDialerEvents
  ) {}

  add (addr: Multiaddr): void {
    this.named.push({ addr, failures: 0 })
  }

  /** Whether some address currently stands for `peerId`. */
  holds (peerId: PeerId): boolean {
    return this.named.some(n => n.peerId?.equals(peerId) === true)
  }

  start (): void {
    this.started = true
    for (const n of this.named) this.dial(n)
  }

  stop (): void {
    this.started = false
    for (const n of this.named) {
      clearTimeout(n.timer)
      n.timer = undefined
    }
  }

  /** `peerId`'s last connection closed: dial again every address that stood for it. */
  disconnected (peerId: PeerId): void {
    for (const n of this.named) {
      if (n.peerId?.equals(peerId) === true) this.schedule(n, this.backoff.delay(0))
    }
  }

  private schedule (n: Named, ms: number): void {
    if (!this.started) return
    clearTimeout(n.timer)
    n.timer = setTimeout(() => { n.timer = undefined; this.dial(n) }, ms)
    n.timer.unref?.()
  }

  private dial (n: Named): void {
    if (!this.started) return
    // back already (it dialled us, or another address reached it)
    if (n.peerId != null && this.dialer.getConnections(n.peerId).length > 0) return
    if (n.peerId != null) this.on.redial(n.peerId)
    this.dialer.openConnection(n.addr, { signal: AbortSignal.timeout(this.dialTimeoutMs) }).then(async (conn: Connection) => {
      if (!this.started) return
      n.failures = 0
      const peer = conn.remotePeer
      if (peer.equals(this.self)) {
        this.drop(n)
        await conn.close().catch(() => {})
        return
      }
      const before = n.peerId
      n.peerId = peer
      if (before != null && !before.equals(peer)) {
        this.log('bootstrap address %a now answers as %p (was %p)', n.addr, peer, before)
        if (!this.holds(before)) await this.on.released(before)
      } else {
        this.log('bootstrap address %a is %p', n.addr, peer)
      }
      await this.on.held(peer, n.addr)
    }, (err: any) => {
      if (!this.started) return
      if (/dial self/i.test(String(err?.message))) {
        this.drop(n)
        return
      }
      const next = this.backoff.delay(n.failures++)
      this.log('bootstrap address %a: dial failed (attempt %d, next in %d ms): %s', n.addr, n.failures, next, err?.message)
      this.schedule(n, next)
    }).catch((err: any) => {
      // the peer store refused a write (stopping node): nothing to hold any more
      this.log.error('bootstrap address %a: %s', n.addr, err?.message)
    })
  }

  private drop (n: Named): void {
    this.log('bootstrap address %a is this node: dropped', n.addr)
    this.named.splice(this.named.indexOf(n), 1)
  }
}
