import { RAW_CODEC } from '@codio/content'
import { FairQueue, PeerRates, TokenBucket } from '@codio/bandwidth'
import { RefusalCode } from '@codio/proto'
import type { PeerId } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import type { SwarmPolicy } from './swarm-policy.js'

export type AdmissionInit = Pick<SwarmPolicy, 'choking' | 'maxUploadRate' | 'maxDownloadRate'>

export interface AdmissionComponents {
  /** whether the choker has `peer` (a peer ID string) unchoked */
  isUnchoked(peer: string): boolean
}

/**
 * Who may be served and how fast: admission of chunk requests (CHOKED refusals under
 * tit-for-tat), the node's token buckets (upload and download limits) with the upload shared
 * evenly between peers, per-peer rates for the choker, and the count of open sessions per
 * peer that admission depends on.
 */
export class Admission {
  readonly rates = new PeerRates()
  readonly upload: TokenBucket
  /** the upload limit shared evenly between the peers we serve (SCFQ over {@link upload}) */
  readonly uploadQueue: FairQueue
  readonly download: TokenBucket
  /** open sessions per peer ID, for admission on every chunk request */
  private readonly sessionCount = new Map<string, number>()
  /** open sessions on super-seeded contents per peer ID: never choked */
  private readonly seedSessionCount = new Map<string, number>()

  constructor (private readonly components: AdmissionComponents, private readonly init: AdmissionInit) {
    this.upload = new TokenBucket({ rate: init.maxUploadRate > 0 ? init.maxUploadRate : Infinity })
    this.uploadQueue = new FairQueue(this.upload)
    this.download = new TokenBucket({ rate: init.maxDownloadRate > 0 ? init.maxDownloadRate : Infinity })
  }

  /**
   * Whether to serve `cid` to `peer`. With choking on, chunks go only to unchoked peers among
   * those taking part in a swarm with us (holding a session). Manifests are always served (a
   * new edge must resolve content at once), and so are requests from peers without a session —
   * an edge's byte-range fetch is not a swarm download and must not wait for an unchoke.
   * Peers of a super-seeded content are never choked: the seed's reveals, not upload slots,
   * decide what each gets, and every peer should start with chunks to trade.
   */
  admit (peer: PeerId, cid: CID): RefusalCode | undefined {
    if (!this.init.choking || cid.code !== RAW_CODEC) return undefined
    const key = peer.toString()
    if (this.components.isUnchoked(key) || (this.sessionCount.get(key) ?? 0) === 0 || (this.seedSessionCount.get(key) ?? 0) > 0) return undefined
    return RefusalCode.CHOKED
  }

  /** A session with peer `key` opened, on a super-seeded content or not. */
  opened (key: string, seeded: boolean): void {
    this.sessionCount.set(key, (this.sessionCount.get(key) ?? 0) + 1)
    if (seeded) this.seedSessionCount.set(key, (this.seedSessionCount.get(key) ?? 0) + 1)
  }

  /** A session {@link opened} with peer `key` closed. */
  closed (key: string, seeded: boolean): void {
    decrement(this.sessionCount, key)
    if (seeded) decrement(this.seedSessionCount, key)
  }

  /** Whether any session with peer `key` is open. */
  hasSession (key: string): boolean {
    return this.sessionCount.has(key)
  }

  /**
   * Set the upload and download limits (bytes/s, 0 = unlimited) given: the token buckets change
   * rate at once, waiters re-timed. Check them first with {@link checkRates}.
   */
  setRates (change: Partial<Pick<SwarmPolicy, 'maxUploadRate' | 'maxDownloadRate'>>): void {
    if (change.maxUploadRate !== undefined) this.upload.setRate(change.maxUploadRate)
    if (change.maxDownloadRate !== undefined) this.download.setRate(change.maxDownloadRate)
  }
}

/** @throws RangeError for a rate that is not a number of bytes/s ≥ 0 */
export function checkRates (change: Partial<Pick<SwarmPolicy, 'maxUploadRate' | 'maxDownloadRate'>>): void {
  for (const key of ['maxUploadRate', 'maxDownloadRate'] as const) {
    const v = change[key]
    if (v !== undefined && (typeof v !== 'number' || Number.isNaN(v) || v < 0)) throw new RangeError(`${key} must be a number of bytes/s ≥ 0, got ${String(v)}`)
  }
}

function decrement (counts: Map<string, number>, key: string): void {
  const left = (counts.get(key) ?? 1) - 1
  if (left > 0) counts.set(key, left)
  else counts.delete(key)
}
