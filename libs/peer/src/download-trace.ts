import type { PeerId } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { recordError, tracer, withActive, type Span } from '@codio/tracing'

export const peerTracer = tracer('@codio/peer')

/**
 * The one span of a swarm download (`swarm.download`), not one per chunk: chunks received per
 * peer are counted and set at the end as two parallel arrays, `codio.download.peers` (peer IDs)
 * and `codio.download.peer_chunks` (chunks from each), with the totals; each FEC rebuild is an
 * event `fec.rebuild` (group index, chunks rebuilt). Spans opened while the download runs (the
 * chunk requests' serving spans on the remote peers, the cache write) are its children.
 */
export class DownloadTrace {
  private readonly span: Span
  private readonly perPeer = new Map<string, number>()
  private parity = 0
  private rebuilt = 0

  constructor (contentId: CID, chunks: number, range?: { first: number, last: number }) {
    this.span = peerTracer.startSpan('swarm.download', {
      attributes: { 'codio.content.id': contentId.toString(), 'codio.content.chunks': chunks, 'codio.download.first': range?.first ?? 0, 'codio.download.last': range?.last ?? chunks - 1 }
    })
  }

  /** Run `fn` (what starts the download) with this span active. */
  run<T>(fn: () => T): T {
    return withActive(this.span, fn)
  }

  /** A chunk (data, or parity when `index >= chunks`) arrived from `peer`. */
  chunk (peer: PeerId, parity: boolean): void {
    // a span not sampled (or tracing off) keeps nothing: no per-chunk bookkeeping for it
    if (!this.span.isRecording()) return
    const key = peer.toString()
    this.perPeer.set(key, (this.perPeer.get(key) ?? 0) + 1)
    if (parity) this.parity++
  }

  /** FEC repair of one group rebuilt `chunks`. */
  repaired (group: number, chunks: number[]): void {
    this.rebuilt += chunks.length
    this.span.addEvent('fec.rebuild', { 'codio.fec.group': group, 'codio.fec.chunks_rebuilt': chunks.length })
  }

  /** End the span when `done` settles (a rejection is recorded as the span's error). */
  endWith (done: Promise<unknown>): void {
    done.then(() => { this.end() }, (err: unknown) => { recordError(this.span, err); this.end() })
  }

  private end (): void {
    const peers = [...this.perPeer.keys()]
    this.span.setAttributes({
      'codio.download.peers': peers,
      'codio.download.peer_chunks': peers.map(p => this.perPeer.get(p)!),
      'codio.download.chunks_received': peers.reduce((n, p) => n + this.perPeer.get(p)!, 0),
      'codio.download.parity_received': this.parity,
      'codio.fec.chunks_rebuilt': this.rebuilt
    })
    this.span.end()
  }
}
