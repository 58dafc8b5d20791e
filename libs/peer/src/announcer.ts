import type { DhtManager } from '@codio/dht'
import type { P2PNode } from '@codio/p2p'
import type { BlockStore } from '@codio/store'
import type { Logger } from '@codio/telemetry'
import type { CID } from 'multiformats/cid'
import type { PeerMetrics } from './metrics.js'

/** How often announcements that found no DHT peer are tried again (ms). */
export const ANNOUNCE_RETRY_MS = 1000

/**
 * Longest {@link Announcer.announceHeld} waits for the DHT announcement before it returns and
 * the announcement finishes in the background (ms).
 */
export const PROVIDE_WAIT_MS = 2000

/** Longest the announcement of the stored contents at start waits for the DHT to be ready (ms). */
export const REPROVIDE_READY_WAIT_MS = 10_000

export interface AnnouncerComponents {
  /** Its status and the DHT's routing table (nobody to hold a record while that is empty). */
  node: Pick<P2PNode, 'status' | 'services'>
  dht: Pick<DhtManager, 'provide' | 'stopProviding'>
  store: Pick<BlockStore, 'has' | 'listContents'>
  /** Whether the DHT can take records: started and, with bootstrap peers, a routing table. */
  isReady: () => boolean
  metrics: Pick<PeerMetrics, 'contents'>
  log: Logger
}

/**
 * The one owner of this peer's provider announcements (DHT provider records, Kademlia
 * ADD_PROVIDER) and of trying them again: every content held is announced at start (the DHT
 * forgot a peer that left), a content is announced as a download gets far enough or completes,
 * and an announcement that reached nobody — an empty routing table, no holder, a failed
 * query — waits in a pending set tried again every {@link ANNOUNCE_RETRY_MS} while the table
 * holds a peer. `DhtManager.provide` makes one attempt (its passes and top-up are part of it);
 * kad-dht republishes a record that reached the DHT before it expires.
 */
export class Announcer {
  /** Contents to provide once the DHT has a peer to hold the records. */
  private readonly unannounced = new Map<string, CID>()
  /** Contents whose provider records reached the DHT since start (kad-dht republishes them). */
  private readonly announced = new Set<string>()
  private timer?: NodeJS.Timeout
  private retrying = false

  constructor (private readonly components: AnnouncerComponents) {}

  /** Start trying pending announcements again, and announce every content the store holds. */
  start (): void {
    this.timer = setInterval(() => { void this.retryPending() }, ANNOUNCE_RETRY_MS)
    this.timer.unref()
    void this.reprovideAll()
  }

  stop (): void {
    clearInterval(this.timer)
  }

  /**
   * Announce `contentId` as held here (a DHT provider record on the K closest peers). With an
   * empty routing table there is nobody to hold the record — and a kad-dht node does not name
   * itself when asked for providers — so the announcement waits until the DHT has a peer; one
   * that reached no holder or failed waits likewise. Failures are logged, not thrown.
   */
  async provide (contentId: CID): Promise<void> {
    const { node, dht, store, log } = this.components
    const key = contentId.toString()
    if (node.services.dht.routingTable.size === 0) {
      this.unannounced.set(key, contentId)
      return
    }
    try {
      const { holders } = await dht.provide(contentId)
      // purged while the announcement ran: take the record back, and do not try again
      if (!(await store.has(contentId))) {
        await dht.stopProviding(contentId)
        return
      }
      if (holders === 0) {
        this.unannounced.set(key, contentId)
        return
      }
      this.unannounced.delete(key)
      this.announced.add(key)
      log.info({ contentId: key, holders }, 'provided')
    } catch (err: any) {
      if (!(await store.has(contentId).catch(() => false))) return
      this.unannounced.set(key, contentId)
      log.warn({ contentId: key, err: err.message }, 'provide failed, will retry')
    }
  }

  /**
   * Announce a content just recorded as held, unless its record already reached the DHT (a
   * download provides itself once it holds half the chunks; that record stands for the whole).
   * Waits at most {@link PROVIDE_WAIT_MS}: a DHT peer that died keeps the put waiting on it for
   * seconds (every publish took 5-10 s after one kill -9), and the announcement goes on anyway.
   */
  async announceHeld (contentId: CID): Promise<void> {
    if (this.announced.has(contentId.toString())) return
    const announcing = this.provide(contentId)
    let timer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([announcing, new Promise<void>(resolve => { timer = setTimeout(resolve, PROVIDE_WAIT_MS) })])
    clearTimeout(timer)
  }

  /** Stop announcing `contentId` (a purge): no pending retry, the local provider record removed. */
  async withdraw (contentId: CID): Promise<void> {
    this.unannounced.delete(contentId.toString())
    this.announced.delete(contentId.toString())
    await this.components.dht.stopProviding(contentId)
  }

  /** How many held contents still wait for their first successful DHT announcement. */
  pending (): number {
    return this.unannounced.size
  }

  private async retryPending (): Promise<void> {
    const { node } = this.components
    if (this.retrying || this.unannounced.size === 0 || node.services.dht.routingTable.size === 0) return
    this.retrying = true
    try {
      for (const cid of [...this.unannounced.values()]) {
        if (node.status !== 'started') return
        await this.provide(cid)
      }
    } finally {
      this.retrying = false
    }
  }

  /**
   * Announce every content the store holds (after a restart the DHT has forgotten us). With
   * bootstrap peers it first waits, at most {@link REPROVIDE_READY_WAIT_MS}, for the DHT to be
   * ready so the records reach someone. A background task: it logs its failures and ends when
   * the node stops.
   */
  private async reprovideAll (): Promise<void> {
    const { node, store, isReady, metrics, log } = this.components
    const running = (): boolean => node.status === 'started'
    try {
      const deadline = Date.now() + REPROVIDE_READY_WAIT_MS
      while (running() && !isReady() && Date.now() < deadline) {
        await new Promise(resolve => setTimeout(resolve, 100))
      }
      if (!running()) return
      const contents = await store.listContents()
      metrics.contents.set(contents.length)
      for (const cid of contents) {
        if (!running()) return
        await this.provide(cid)
      }
    } catch (err: any) {
      if (running()) log.error({ err: err.message }, 're-providing stored content failed')
    }
  }
}
