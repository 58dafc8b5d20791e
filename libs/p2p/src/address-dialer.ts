import type { Connection, Logger, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Dialer, Reconnector } from './reconnector.js'

/**
 * Dials bootstrap addresses given without `/p2p/<peer id>` (e.g. `/dns4/relay-0.relay/tcp/4001`,
 * a Kubernetes or compose service name) until one connection to each succeeds, with the
 * {@link Reconnector}'s backoff; the peer ID the Noise handshake authenticated is then handed
 * to `identified`, which keeps that peer like any bootstrap peer. A name that leads back to
 * this node (a relay whose shared bootstrap list names itself) is dropped.
 */
export class AddressDialer {
  private readonly timers = new Set<ReturnType<typeof setTimeout>>()
  private started = false

  constructor (
    private readonly self: PeerId,
    private readonly dialer: Dialer,
    private readonly backoff: Pick<Reconnector, 'delay'>,
    private readonly dialTimeoutMs: number,
    private readonly log: Logger,
    private readonly identified: (peerId: PeerId, addr: Multiaddr) => Promise<void>
  ) {}

  start (addrs: Multiaddr[]): void {
    this.started = true
    for (const addr of addrs) this.dial(addr, 0)
  }

  stop (): void {
    this.started = false
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
  }

  private dial (addr: Multiaddr, failures: number): void {
    if (!this.started) return
    this.dialer.openConnection(addr, { signal: AbortSignal.timeout(this.dialTimeoutMs) }).then(async (conn: Connection) => {
      if (conn.remotePeer.equals(this.self)) {
        this.log('bootstrap address %a is this node: dropped', addr)
        await conn.close().catch(() => {})
        return
      }
      this.log('bootstrap address %a is %p', addr, conn.remotePeer)
      await this.identified(conn.remotePeer, addr)
    }, (err: any) => {
      if (!this.started) return
      if (/dial self/i.test(String(err?.message))) {
        this.log('bootstrap address %a is this node: dropped', addr)
        return
      }
      const next = this.backoff.delay(failures)
      this.log('bootstrap address %a: dial failed (attempt %d, next in %d ms): %s', addr, failures + 1, next, err?.message)
      const t = setTimeout(() => { this.timers.delete(t); this.dial(addr, failures + 1) }, next)
      t.unref?.()
      this.timers.add(t)
    })
  }
}
