import type { CID } from 'multiformats/cid'
import { BlockState, type BlockTable } from './blocks.js'
import { ChunkUnavailableError } from './errors.js'
import type { ChunkSink } from './fetcher.js'
import type { DownloadPeers } from './peers.js'
import type { StallTimer } from './stall.js'

/**
 * How a download repairs data chunks from Reed-Solomon parity (`fecPlan` of @codio/fec
 * implements it). Group `g` holds data chunks `layout(g).first..last` and the parity chunks
 * `parity(g)`; any `layout(g).dataCount` verified shards of the group rebuild all of its data.
 */
export interface FecRepair {
  readonly groupCount: number
  groupOf(chunk: number): number
  layout(group: number): { first: number, last: number, dataCount: number }
  parity(group: number): CID[]
  /**
   * @param shards - the group's data chunks then its parity chunks, `undefined` where missing
   * @returns the group's data chunks, rebuilt ones verified against their CIDs
   */
  rebuild(group: number, shards: Array<Uint8Array | undefined>): Promise<Uint8Array[]>
}

/** Every parity CID of `fec`, group after group (the blocks after the data chunks). */
export function parityBlocks (fec: FecRepair | undefined): CID[] {
  const out: CID[] = []
  if (fec != null) for (let g = 0; g < fec.groupCount; g++) out.push(...fec.parity(g))
  return out
}

export interface FecRepairsComponents {
  blocks: BlockTable
  peers: DownloadPeers
  stall: StallTimer
  sink: ChunkSink
  /** the download has failed */
  failed(): boolean
  fail(err: Error): void
  /** block `index` was rebuilt (a data chunk) and stored */
  rebuilt(index: number, bytes: Uint8Array): void
  /** block `index`, which was held, is no longer in the sink */
  lost(index: number): void
  /** FEC group `group` is repaired: data chunks `chunks`, `bytes` in all, were rebuilt */
  repaired(group: number, chunks: number[], bytes: number): void
  /** look again at what to request */
  schedule(): void
}

/** A FEC group being repaired: its member blocks (data, then parity) and where it stands. */
interface Repair {
  group: number
  members: number[]
  dataCount: number
  /** member blocks not yet checked against the sink */
  checking: boolean
  rebuilding: boolean
  done: boolean
}

/**
 * FEC repair of one download: a wanted data chunk that no current peer can supply is repaired
 * instead of waited for. The other shards of its FEC group are fetched (data chunks first, then
 * only as many parity chunks as are still short of k) and the group is rebuilt from any k
 * verified shards.
 */
export class FecRepairs {
  private readonly repairs = new Map<number, Repair>()

  constructor (private readonly components: FecRepairsComponents, private readonly fec: FecRepair) {}

  /**
   * Start repairing the group of every wanted chunk no known peer can supply, and keep each
   * repair supplied: once k shards are in, rebuild; while fewer than k are done, in flight or
   * still askable, want one more shard of the group (its data chunks first, then parity).
   */
  plan (): void {
    const { blocks, peers, stall } = this.components
    if (peers.size > 0) {
      for (let i = blocks.first; i <= blocks.last; i++) {
        if (blocks.state[i] !== BlockState.Missing || blocks.askable(i)) continue
        if (stall.awaitAnnouncement(i)) continue
        const group = this.fec.groupOf(i)
        if (!this.repairs.has(group)) this.start(group)
      }
    }
    for (const r of this.repairs.values()) {
      if (r.checking || r.rebuilding || r.done) continue
      let done = 0
      let potential = 0
      for (const b of r.members) {
        const s = blocks.state[b]
        if (s === BlockState.Done) done++
        if (s === BlockState.Done || s === BlockState.InFlight || (s === BlockState.Missing && (blocks.askable(b) || stall.mayBeAnnounced(b)))) potential++
      }
      if (done >= r.dataCount) {
        void this.rebuild(r)
        continue
      }
      for (const b of r.members) {
        if (potential >= r.dataCount) break
        if (blocks.state[b] !== BlockState.Unwanted) continue
        blocks.state[b] = BlockState.Missing
        blocks.forRepair.add(b)
        if (blocks.askable(b) || peers.moreMayCome) potential++
      }
    }
  }

  /** A repair is checking the sink or rebuilding: what it will do is not known yet. */
  busy (): boolean {
    for (const r of this.repairs.values()) if (r.checking || r.rebuilding) return true
    return false
  }

  /** Chunk `index`'s group is being repaired and a shard it still wants may be asked for. */
  mayRebuild (index: number): boolean {
    const { blocks } = this.components
    const r = this.repairs.get(this.fec.groupOf(index))
    return r != null && !r.done && r.members.some(b => blocks.state[b] === BlockState.Missing && blocks.askable(b))
  }

  private start (group: number): void {
    const { blocks, sink } = this.components
    const { first, last, dataCount } = this.fec.layout(group)
    const m = this.fec.parity(group).length
    const parityBase = blocks.dataCount + group * m
    const members = [
      ...Array.from({ length: last - first + 1 }, (_, j) => first + j),
      ...Array.from({ length: m }, (_, j) => parityBase + j)
    ]
    const r: Repair = { group, members, dataCount, checking: true, rebuilding: false, done: false }
    this.repairs.set(group, r)
    // shards the sink already holds count without a fetch
    void (async () => {
      for (const b of members) {
        if (blocks.state[b] === BlockState.Unwanted && await sink.has(blocks.cids[b])) blocks.state[b] = BlockState.Done
      }
      r.checking = false
      this.components.schedule()
    })().catch(err => { this.components.fail(err) })
  }

  private async rebuild (r: Repair): Promise<void> {
    const { blocks, sink } = this.components
    r.rebuilding = true
    try {
      const shards = await Promise.all(r.members.map(async b => blocks.state[b] === BlockState.Done ? await sink.get(blocks.cids[b]) : undefined))
      if (this.components.failed()) return
      if (shards.filter(s => s != null).length < r.dataCount) {
        // the sink lost blocks it had (evicted meanwhile): want them again, from a peer or the
        // rebuild; a chunk of the range lost counts as not held until it is back
        r.members.forEach((b, j) => {
          if (shards[j] != null || blocks.state[b] !== BlockState.Done) return
          blocks.state[b] = BlockState.Unwanted
          this.components.lost(b)
        })
        r.rebuilding = false
        this.components.schedule()
        return
      }
      const data = await this.fec.rebuild(r.group, shards).catch((err: Error) => {
        throw new ChunkUnavailableError(`FEC group ${r.group} could not be rebuilt: ${err.message}`, { cause: err })
      })
      await this.store(r, data)
    } catch (err: any) {
      this.components.fail(err)
    }
  }

  /** Store the rebuilt data chunks of repair `r` that are still wanted; its parity is no longer needed. */
  private async store (r: Repair, data: Uint8Array[]): Promise<void> {
    const { blocks, sink } = this.components
    const rebuilt: number[] = []
    let bytes = 0
    for (let j = 0; j < data.length; j++) {
      const b = r.members[j]
      if (blocks.state[b] === BlockState.Done) continue
      await sink.put(blocks.cids[b], data[j])
      if ((blocks.state[b] as BlockState) === BlockState.Done) continue // fetched meanwhile
      blocks.cancel(b)
      this.components.rebuilt(b, data[j])
      rebuilt.push(b)
      bytes += data[j].byteLength
    }
    // parity still wanted or in flight is no longer needed
    for (const b of r.members.slice(data.length)) {
      blocks.cancel(b)
      if (blocks.state[b] === BlockState.Missing) blocks.state[b] = BlockState.Unwanted
      blocks.forRepair.delete(b)
    }
    r.done = true
    r.rebuilding = false
    this.components.repaired(r.group, rebuilt, bytes)
  }
}
