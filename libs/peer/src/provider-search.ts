import { setTimeout as sleep } from 'node:timers/promises'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { CID } from 'multiformats/cid'
import type { P2PNode } from '@codio/p2p'
import type { DhtManager } from '@codio/dht'

/** First pause before a DHT walk that found nobody is repeated (ms); it doubles up to {@link LOOKUP_RETRY_MAX_MS}. */
export const LOOKUP_RETRY_MS = 250
export const LOOKUP_RETRY_MAX_MS = 2000

/**
 * A faster source of providers than the DHT (the tracker): peers with their multiaddrs, or
 * `undefined` when it is slow or unreachable.
 */
export interface ProviderSource {
  select(cid: CID, signal: AbortSignal): Promise<Array<{ id: PeerId, multiaddrs: Multiaddr[] }> | undefined>
}

/**
 * One running provider lookup whose results several consumers can follow while it is still
 * running: the manifest fetch takes the first provider, the download takes all of them. With
 * a {@link ProviderSource} (the tracker) it asks that first and uses its peers; only when it
 * answers nothing, or is slow or unreachable, does it walk the DHT (Kademlia paper §2.3;
 * libp2p kad-dht GET_PROVIDERS), again and again with backoff until it finds a provider or
 * its time limit runs out.
 */
export class ProviderSearch {
  readonly found: PeerId[] = []
  private finished = false
  private readonly listeners = new Set<() => void>()
  private readonly controller = new AbortController()

  /** Where the providers came from: `'tracker'`, `'dht'`, or undefined while still looking. */
  source?: 'tracker' | 'dht'

  constructor (private readonly node: P2PNode<any>, private readonly dht: Pick<DhtManager, 'findProviders'>, readonly cid: CID, timeoutMs: number, signal?: AbortSignal, private readonly tracker?: ProviderSource) {
    const signals = [this.controller.signal, AbortSignal.timeout(timeoutMs)]
    if (signal != null) signals.push(signal)
    void this.run(AbortSignal.any(signals))
  }

  get done (): boolean {
    return this.finished
  }

  private async run (signal: AbortSignal): Promise<void> {
    const seen = new Set<string>([this.node.peerId.toString()])
    try {
      const selected = await this.tracker?.select(this.cid, signal).catch(() => undefined)
      for (const peer of selected ?? []) {
        const key = peer.id.toString()
        if (seen.has(key)) continue
        seen.add(key)
        if (peer.multiaddrs.length > 0) await this.node.peerStore.merge(peer.id, { multiaddrs: peer.multiaddrs }).catch(() => {})
        this.found.push(peer.id)
        this.source = 'tracker'
        this.notify()
      }
      if (this.found.length > 0) return
      this.source = 'dht'
      // a walk that ends empty is tried again until the time limit: a content published a
      // moment ago may not be announced yet (its provider had no DHT peer to hold the record)
      for (let wait = LOOKUP_RETRY_MS; this.found.length === 0 && !signal.aborted; wait = Math.min(wait * 2, LOOKUP_RETRY_MAX_MS)) {
        for await (const info of this.dht.findProviders(this.cid, { signal })) {
          const key = info.id.toString()
          if (seen.has(key)) continue
          seen.add(key)
          if (info.multiaddrs.length > 0) {
            await this.node.peerStore.merge(info.id, { multiaddrs: info.multiaddrs }).catch(() => {})
          }
          this.found.push(info.id)
          this.notify()
        }
        if (this.found.length === 0) await sleep(wait, undefined, { signal, ref: false })
      }
    } catch {
      // a lookup that times out or is aborted simply ends with what it found
    } finally {
      this.finished = true
      this.notify()
    }
  }

  private notify (): void {
    for (const l of this.listeners) l()
  }

  /** Stop the lookup early. */
  abort (): void {
    this.controller.abort()
  }

  /**
   * Every provider found so far and from now on, until the lookup ends.
   */
  async * providers (): AsyncGenerator<PeerId> {
    let i = 0
    while (true) {
      while (i < this.found.length) yield this.found[i++]
      if (this.finished) return
      await new Promise<void>(resolve => {
        const l = (): void => {
          this.listeners.delete(l)
          resolve()
        }
        this.listeners.add(l)
      })
    }
  }
}
