import type { CID } from 'multiformats/cid'
import type { DownloadPeers } from './peers.js'
import type { PiecePicker } from './picker.js'

/** Where one block of a download stands. */
export enum BlockState { Unwanted, Missing, InFlight, Done }

/** One request for a block, to one peer. */
export interface BlockRequest {
  readonly cancel: AbortController
  /** when it was sent, performance.now() ms */
  readonly startedAt: number
  /** it was late, and another peer was asked too */
  hedged?: boolean
}

export interface BlockTableInit {
  /** the data chunks' CIDs, in order */
  chunks: CID[]
  /** every FEC group's parity CIDs, group after group */
  parity: CID[]
  /** the range of data chunks wanted (inclusive) */
  first: number
  last: number
}

export interface BlockTableComponents {
  peers: DownloadPeers
  picker: PiecePicker
}

/**
 * The blocks of one download (its data chunks, then every FEC group's parity chunks): where
 * each stands, who is being asked for it, and who may be asked. A peer that refused a block or
 * sent bad bytes for it is not asked for that block again.
 */
export class BlockTable {
  /** data chunk CIDs, then every group's parity CIDs */
  readonly cids: CID[]
  readonly dataCount: number
  readonly first: number
  readonly last: number
  readonly state: BlockState[]
  /** Who is being asked for each in-flight block; more than one only when hedged or in endgame. */
  readonly requests = new Map<number, Map<string, BlockRequest>>()
  /** blocks wanted only for a repair (parity, data outside the range), asked for first */
  readonly forRepair = new Set<number>()
  /** peers that refused a block or sent bad bytes for it */
  private readonly excluded: Array<Set<string> | undefined>

  constructor (private readonly components: BlockTableComponents, init: BlockTableInit) {
    this.first = init.first
    this.last = init.last
    this.dataCount = init.chunks.length
    this.cids = [...init.chunks, ...init.parity]
    this.state = new Array(this.cids.length).fill(BlockState.Unwanted)
    for (let i = this.first; i <= this.last; i++) this.state[i] = BlockState.Missing
    this.excluded = new Array(this.cids.length)
  }

  /** Block `index` is a data chunk of the wanted range (it counts towards the download's end). */
  counted (index: number): boolean {
    return index >= this.first && index <= this.last
  }

  /** `peer` refused block `index` or sent bad bytes for it: it is not asked for it again. */
  exclude (index: number, peer: string): void {
    let set = this.excluded[index]
    if (set == null) this.excluded[index] = set = new Set()
    set.add(peer)
  }

  /** Peers that refused block `index` or sent bad bytes for it. */
  excludedCount (index: number): number {
    return this.excluded[index]?.size ?? 0
  }

  /** `peer` is neither banned nor gone, and has not failed block `index`. */
  mayAsk (index: number, peer: string): boolean {
    return this.components.peers.isActive(peer) && this.excluded[index]?.has(peer) !== true
  }

  /** `peer` holds block `index`: as its bitfield says for a data chunk; parity chunks are in no bitfield, so anyone may. */
  holds (peer: string, index: number): boolean {
    return index >= this.dataCount || this.components.picker.peerHas(peer, index)
  }

  /** Some known peer may be asked for block `index` and holds it. */
  askable (index: number): boolean {
    for (const key of this.components.peers.keys()) {
      if (this.mayAsk(index, key) && this.holds(key, index)) return true
    }
    return false
  }

  /** A request to `peer` for block `index` is sent now: the block is in flight. */
  ask (index: number, peer: string): BlockRequest {
    const request: BlockRequest = { cancel: new AbortController(), startedAt: performance.now() }
    let asked = this.requests.get(index)
    if (asked == null) this.requests.set(index, asked = new Map())
    asked.set(peer, request)
    this.state[index] = BlockState.InFlight
    return request
  }

  /** The request to `peer` for block `index` has settled. */
  settle (index: number, peer: string): void {
    const asked = this.requests.get(index)
    asked?.delete(peer)
    if (asked?.size === 0) this.requests.delete(index)
  }

  /** A peer other than `peer` is being asked for block `index`. */
  askedElsewhere (index: number, peer: string): boolean {
    for (const key of this.requests.get(index)?.keys() ?? []) if (key !== peer) return true
    return false
  }

  /** Cancel every request for block `index`. */
  cancel (index: number): void {
    for (const r of this.requests.get(index)?.values() ?? []) r.cancel.abort()
  }

  /** Cancel every request to `peer`, with `reason`. */
  cancelPeer (peer: string, reason: Error): void {
    for (const asked of this.requests.values()) asked.get(peer)?.cancel.abort(reason)
  }
}
