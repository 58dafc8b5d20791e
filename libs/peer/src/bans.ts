import { open, readFile, rename } from 'node:fs/promises'
import { dirname } from 'node:path'
import { InvalidPeerIdError } from '@codio/p2p'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Connection, PeerId } from '@libp2p/interface'
import { BanFileError, InvalidBanError } from './errors.js'

/** Longest reason kept with a ban, in characters. */
export const MAX_BAN_REASON_LENGTH = 1024

/** One ban as the admin API lists it. */
export interface Ban {
  peerId: string
  reason: string
  /** Unix ms */
  createdMs: number
  /** Unix ms; 0 = until lifted */
  expiresMs: number
  /** `node`: this node's admin API (persisted here); `cluster`: the fleet's list from the tracker */
  scope: 'node' | 'cluster'
}

/** A cluster ban as the tracker's Watch stream delivers it (proto `codio.tracker.v1.Ban`). */
export interface ClusterBan {
  peerId: string
  reason?: string
  createdMs?: number | bigint
  /** 0 or absent = until lifted */
  expiresMs?: number | bigint
}

export interface BanListInit {
  /** Where node bans persist (`<dataDir>/bans.json`). */
  file: string
  /** This node: it cannot be banned. */
  self: PeerId
  /** Clock, Unix ms. Default `Date.now`. */
  now?: () => number
}

type Entry = Omit<Ban, 'scope'>

const FILE_VERSION = 1

/**
 * The peers this node refuses, in two scopes: `node` bans, set through this node's admin API
 * and persisted in a JSON file (written atomically: temporary file, fsync, rename, fsync of
 * the directory; reloaded at start), and `cluster` bans, the fleet's list, replaced whole by
 * {@link setClusterBans}. A peer is banned while either scope holds an unexpired ban for it;
 * an expired ban lifts by itself (every check reads the clock) and is dropped from the file
 * at the next write.
 *
 * The list only answers questions: {@link isBanned} is what the libp2p connection gater, the
 * chunk exchange and provider searches consult at every decision. What a new ban does to open
 * connections is the enforcer's work ({@link setEnforcer}).
 */
export class BanList {
  private readonly node = new Map<string, Entry>()
  private cluster = new Map<string, Entry>()
  private readonly now: () => number
  private readonly self: string
  private writing: Promise<void> = Promise.resolve()
  private enforcer?: (peer: PeerId) => Promise<number>

  private constructor (private readonly init: BanListInit) {
    this.now = init.now ?? Date.now
    this.self = init.self.toString()
  }

  /**
   * The ban list with the node bans stored in `init.file` (none when the file does not exist),
   * the expired ones left out.
   *
   * @throws BanFileError when the file exists but cannot be read or is not a ban file
   */
  static async open (init: BanListInit): Promise<BanList> {
    const list = new BanList(init)
    let text: string
    try {
      text = await readFile(init.file, 'utf8')
    } catch (err: any) {
      if (err.code === 'ENOENT') return list
      throw new BanFileError(`cannot read ${init.file}: ${err.message}`, { cause: err })
    }
    let doc: any
    try {
      doc = JSON.parse(text)
    } catch (err: any) {
      throw new BanFileError(`${init.file} is not JSON: ${err.message}`, { cause: err })
    }
    if (doc?.version !== FILE_VERSION || !Array.isArray(doc.bans)) throw new BanFileError(`${init.file} is not a version ${FILE_VERSION} ban file`)
    for (const b of doc.bans) {
      const ok = typeof b?.peerId === 'string' && typeof b.reason === 'string' && Number.isSafeInteger(b.createdMs) && Number.isSafeInteger(b.expiresMs)
      if (!ok) throw new BanFileError(`${init.file}: malformed ban ${JSON.stringify(b)}`)
      const id = parsePeerId(b.peerId).toString()
      if (id === list.self || list.expired(b)) continue
      list.node.set(id, { peerId: id, reason: b.reason, createdMs: b.createdMs, expiresMs: b.expiresMs })
    }
    return list
  }

  /**
   * What to do when a ban comes into force for a peer (close its connections, forget it):
   * returns how many connections it closed. Set once the node exists.
   */
  setEnforcer (enforce: (peer: PeerId) => Promise<number>): void {
    this.enforcer = enforce
  }

  /** Whether `peer` is banned now, in either scope. Cheap: called on every dial and stream. */
  isBanned (peer: PeerId | string): boolean {
    const key = peer.toString()
    const n = this.node.get(key)
    if (n != null && !this.expired(n)) return true
    const c = this.cluster.get(key)
    return c != null && !this.expired(c)
  }

  /**
   * Ban `peerId` on this node for `durationSeconds` (0 = until lifted), persist it, and enforce
   * it: every connection to the peer is closed at once. Banning a peer already banned here
   * replaces the ban (new reason, new expiry).
   *
   * @returns connections closed
   * @throws InvalidPeerIdError a malformed peer ID, or this node's own
   * @throws InvalidBanError a negative or fractional duration, a reason over {@link MAX_BAN_REASON_LENGTH}
   * @throws BanFileError the file could not be written (the ban is in force until restart)
   */
  async ban (peerId: string, reason: string, durationSeconds: number): Promise<{ connectionsClosed: number }> {
    const peer = this.remotePeer(peerId)
    if (!Number.isSafeInteger(durationSeconds) || durationSeconds < 0) throw new InvalidBanError(`durationSeconds must be a whole number ≥ 0, got ${durationSeconds}`)
    if (reason.length > MAX_BAN_REASON_LENGTH) throw new InvalidBanError(`reason is ${reason.length} characters, at most ${MAX_BAN_REASON_LENGTH}`)
    const now = this.now()
    const id = peer.toString()
    this.node.set(id, { peerId: id, reason, createdMs: now, expiresMs: durationSeconds === 0 ? 0 : now + durationSeconds * 1000 })
    const closed = await this.enforcer?.(peer) ?? 0
    await this.persist()
    return { connectionsClosed: closed }
  }

  /**
   * Lift this node's ban of `peerId`. A cluster ban of the same peer stays (it is lifted at
   * the tracker).
   *
   * @returns `lifted`: whether a node ban in force was removed
   * @throws InvalidPeerIdError a malformed peer ID
   * @throws BanFileError the file could not be written
   */
  async unban (peerId: string): Promise<{ lifted: boolean }> {
    const id = parsePeerId(peerId).toString()
    const entry = this.node.get(id)
    if (entry == null) return { lifted: false }
    this.node.delete(id)
    await this.persist()
    return { lifted: !this.expired(entry) }
  }

  /**
   * Replace the cluster bans with `bans` (the fleet's whole list). Entries naming a malformed
   * peer ID or this node are skipped. Peers newly banned are cut off at once.
   *
   * @returns the peer IDs newly banned, and the entries skipped
   */
  async setClusterBans (bans: ClusterBan[]): Promise<{ banned: string[], skipped: string[] }> {
    const next = new Map<string, Entry>()
    const skipped: string[] = []
    for (const b of bans) {
      let id: string
      try {
        id = parsePeerId(b.peerId).toString()
      } catch {
        skipped.push(String(b.peerId))
        continue
      }
      if (id === this.self) {
        skipped.push(id)
        continue
      }
      next.set(id, { peerId: id, reason: b.reason ?? '', createdMs: Number(b.createdMs ?? this.now()), expiresMs: Number(b.expiresMs ?? 0) })
    }
    const before = new Set([...next.keys()].filter(id => this.isBanned(id)))
    this.cluster = next
    const banned = [...next.keys()].filter(id => !before.has(id) && this.isBanned(id))
    await Promise.all(banned.map(async id => await this.enforcer?.(peerIdFromString(id))))
    return { banned, skipped }
  }

  /** Bans in force, node ones first, each scope by creation time. */
  list (): Ban[] {
    const live = (m: Map<string, Entry>, scope: Ban['scope']): Ban[] =>
      [...m.values()].filter(e => !this.expired(e)).sort((a, b) => a.createdMs - b.createdMs).map(e => ({ ...e, scope }))
    return [...live(this.node, 'node'), ...live(this.cluster, 'cluster')]
  }

  private expired (e: Pick<Entry, 'expiresMs'>): boolean {
    return e.expiresMs !== 0 && e.expiresMs <= this.now()
  }

  private remotePeer (peerId: string): PeerId {
    const peer = parsePeerId(peerId)
    if (peer.toString() === this.self) throw new InvalidPeerIdError('a node cannot ban itself')
    return peer
  }

  /** Write the node bans in force; writes run one after another, each with the state at its turn. */
  private async persist (): Promise<void> {
    const write = this.writing.then(async () => {
      for (const [id, e] of this.node) if (this.expired(e)) this.node.delete(id)
      const doc = { version: FILE_VERSION, bans: [...this.node.values()] }
      await writeAtomic(this.init.file, JSON.stringify(doc, null, 2) + '\n')
    })
    this.writing = write.catch(() => {})
    try {
      await write
    } catch (err: any) {
      throw new BanFileError(`cannot write ${this.init.file} (the change holds until restart): ${err.message}`, { cause: err })
    }
  }
}

/** @throws InvalidPeerIdError */
function parsePeerId (s: string): PeerId {
  if (typeof s !== 'string' || s.trim() === '') throw new InvalidPeerIdError('a peer ID is required')
  try {
    return peerIdFromString(s.trim())
  } catch (err: any) {
    throw new InvalidPeerIdError(`"${s}" is not a peer ID: ${err.message}`, { cause: err })
  }
}

/** Temporary file, fsync, rename over `path`, fsync of the directory: a crash leaves the old file or the new. */
async function writeAtomic (path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`
  const fh = await open(tmp, 'w', 0o600)
  try {
    await fh.writeFile(text)
    await fh.sync()
  } finally {
    await fh.close()
  }
  await rename(tmp, path)
  const dir = await open(dirname(path), 'r')
  try {
    await dir.sync()
  } finally {
    await dir.close()
  }
}

/** What cutting a banned peer off touches. */
export interface BanTarget {
  getConnections(peer: PeerId): Connection[]
  /** Drop the request stream to the peer (the chunk exchange). */
  closeExchange(peer: PeerId): void
  /** Drop the peer from the DHT routing table. */
  forgetPeer(peer: PeerId): Promise<void>
}

/**
 * Cut a newly banned peer off: its request stream ends, every connection to it is aborted at
 * once (not closed gracefully: a graceful close waits for its streams), and it leaves the
 * routing table. Swarm sessions end with their connections. New connections are the gater's.
 *
 * @returns connections aborted
 */
export async function cutOff (target: BanTarget, peer: PeerId): Promise<number> {
  const connections = target.getConnections(peer)
  target.closeExchange(peer)
  for (const c of connections) c.abort(new Error(`peer ${peer} is banned`))
  await target.forgetPeer(peer).catch(() => {})
  return connections.length
}
