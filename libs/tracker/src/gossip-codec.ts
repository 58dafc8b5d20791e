import { create, fromBinary, toBinary } from '@bufbuild/protobuf'
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire'
import { AvailabilitySchema, ContentChunksSchema, MetricsReportSchema, type ContentChunks } from '@codio/proto'
import { Bitfield } from '@codio/bitfield'
import { DEFAULT_SUBJECT_PREFIX, MAX_CHUNK_COUNT, MAX_CONTENTS_PER_MESSAGE, MAX_MULTIADDRS, MAX_OBSERVATIONS, MAX_ROLES } from './constants.js'
import { MalformedGossipError } from './errors.js'
import { isContentId, isMultiaddr, isPeerId, isRole } from './ids.js'
import { parseGossipSubject } from './subjects.js'
import type { AvailabilityUpdate, Holding, MetricsUpdate, Observation } from './types.js'

/** One content a node holds, as a node describes it. Give `complete: true` or a bitfield. */
export interface HoldingInit {
  contentId: string
  chunkCount: number
  /** BEP 3 bitfield, ceil(chunkCount / 8) bytes, spare bits zero. */
  bitfield?: Uint8Array
  /** Every chunk is held (no bitfield needed). */
  complete?: boolean
}

export interface AvailabilityInit {
  peerId: string
  multiaddrs?: string[]
  roles?: string[]
  contents: HoldingInit[]
  sequence: number
  timestampMs: number
}

export interface MetricsInit {
  peerId: string
  uptimeSeconds: number
  chunksServed: number
  chunksFailed: number
  bytesServed: number
  observations?: Observation[]
  sequence: number
  timestampMs: number
}

/** A decoded gossip message with its kind. */
export type Gossip =
  | { kind: 'availability', update: AvailabilityUpdate }
  | { kind: 'metrics', update: MetricsUpdate }

function fail (reason: string): never {
  throw new MalformedGossipError(reason)
}

function count (v: number | bigint, what: string): number {
  const n = typeof v === 'bigint' ? Number(v) : v
  if (!Number.isSafeInteger(n) || n < 0) fail(`${what} must be a whole number in [0, 2^53), got ${String(v)}`)
  return n
}

function rate (v: number, what: string): number {
  if (!Number.isFinite(v) || v < 0) fail(`${what} must be a finite number ≥ 0, got ${v}`)
  return v
}

function peerId (s: string, what: string): string {
  if (!isPeerId(s)) fail(`${what} ${JSON.stringify(s.slice(0, 80))} is not a peer ID`)
  return s
}

function holding (c: HoldingInit): Holding | undefined {
  if (!isContentId(c.contentId)) fail(`content ID ${JSON.stringify(c.contentId.slice(0, 80))} is not a CID`)
  const chunkCount = c.chunkCount
  if (!Number.isSafeInteger(chunkCount) || chunkCount < 1 || chunkCount > MAX_CHUNK_COUNT) fail(`${c.contentId}: chunk count ${chunkCount} outside [1, 2^24]`)
  const bits = c.bitfield ?? new Uint8Array(0)
  if (c.complete === true) {
    if (bits.length > 0) {
      const problem = Bitfield.problem(bits, chunkCount)
      if (problem !== undefined) fail(`${c.contentId}: ${problem}`)
      if (!Bitfield.fromBytes(chunkCount, bits).isFull()) fail(`${c.contentId}: marked complete but the bitfield lacks chunks`)
    }
    return { contentId: c.contentId, chunkCount, haveCount: chunkCount, complete: true, bitfield: new Uint8Array(0) }
  }
  const problem = Bitfield.problem(bits, chunkCount)
  if (problem !== undefined) fail(`${c.contentId}: ${problem}`)
  const haveCount = Bitfield.fromBytes(chunkCount, bits).count()
  if (haveCount === 0) return undefined // holds none of it: not a holder
  if (haveCount === chunkCount) return { contentId: c.contentId, chunkCount, haveCount, complete: true, bitfield: new Uint8Array(0) }
  return { contentId: c.contentId, chunkCount, haveCount, complete: false, bitfield: bits }
}

/**
 * Validate and normalise an availability snapshot: a complete content carries no bitfield, a
 * content with no chunk held is left out. An invalid entry (content ID not a CID, chunk count
 * outside [1, 2^24], bitfield of the wrong size or with spare bits set, a content listed again)
 * is left out too and counted in `droppedContents`: one bad entry never sinks the others (on
 * encode, a node's own gossip goes out without it).
 *
 * @throws MalformedGossipError naming the first problem of the message itself (bad peer ID,
 *   multiaddr or role; more than 100 000 contents or 64 multiaddrs; bad sequence or timestamp)
 */
export function validateAvailability (init: AvailabilityInit): AvailabilityUpdate {
  const multiaddrs = init.multiaddrs ?? []
  const roles = init.roles ?? []
  if (multiaddrs.length > MAX_MULTIADDRS) fail(`more than ${MAX_MULTIADDRS} multiaddrs`)
  for (const a of multiaddrs) if (!isMultiaddr(a)) fail(`multiaddr ${JSON.stringify(a.slice(0, 80))} is not valid`)
  if (roles.length > MAX_ROLES) fail(`more than ${MAX_ROLES} roles`)
  for (const r of roles) if (!isRole(r)) fail(`role ${JSON.stringify(r.slice(0, 40))} is not a lowercase word`)
  if (init.contents.length > MAX_CONTENTS_PER_MESSAGE) fail(`more than ${MAX_CONTENTS_PER_MESSAGE} contents`)
  const seen = new Set<string>()
  const contents: Holding[] = []
  let dropped = 0
  for (const c of init.contents) {
    // one bad entry never sinks the message: it is left out and counted, the others stay
    let h: Holding | undefined
    try {
      if (seen.has(c.contentId)) fail(`content ${c.contentId} listed twice`)
      h = holding(c)
    } catch (err) {
      if (!(err instanceof MalformedGossipError)) throw err
      dropped++
      continue
    }
    seen.add(c.contentId)
    if (h !== undefined) contents.push(h)
  }
  const update: AvailabilityUpdate = {
    peerId: peerId(init.peerId, 'peer ID'),
    multiaddrs: [...multiaddrs],
    roles: [...roles],
    contents,
    sequence: count(init.sequence, 'sequence'),
    timestampMs: count(init.timestampMs, 'timestamp')
  }
  if (dropped > 0) update.droppedContents = dropped
  return update
}

/**
 * Validate a metrics report.
 *
 * @throws MalformedGossipError on a bad peer ID, a negative or non-finite number, a count past
 *   2^53, an observation of the same peer twice, or more than 10 000 observations
 */
export function validateMetrics (init: MetricsInit): MetricsUpdate {
  const observations = init.observations ?? []
  if (observations.length > MAX_OBSERVATIONS) fail(`more than ${MAX_OBSERVATIONS} observations`)
  const seen = new Set<string>()
  const obs: Observation[] = observations.map(o => {
    peerId(o.peerId, 'observed peer ID')
    if (seen.has(o.peerId)) fail(`peer ${o.peerId} observed twice`)
    seen.add(o.peerId)
    return {
      peerId: o.peerId,
      bytesPerSecond: rate(o.bytesPerSecond, 'bytes per second'),
      failures: count(o.failures, 'failures'),
      successes: count(o.successes, 'successes')
    }
  })
  return {
    peerId: peerId(init.peerId, 'peer ID'),
    uptimeSeconds: rate(init.uptimeSeconds, 'uptime'),
    chunksServed: count(init.chunksServed, 'chunks served'),
    chunksFailed: count(init.chunksFailed, 'chunks failed'),
    bytesServed: count(init.bytesServed, 'bytes served'),
    observations: obs,
    sequence: count(init.sequence, 'sequence'),
    timestampMs: count(init.timestampMs, 'timestamp')
  }
}

/**
 * Encode an availability snapshot as a `codio.tracker.v1.Availability` message; invalid entries
 * are left out (see {@link validateAvailability}). @throws MalformedGossipError
 */
export function encodeAvailability (init: AvailabilityInit): Uint8Array {
  const u = validateAvailability(init)
  return toBinary(AvailabilitySchema, create(AvailabilitySchema, {
    peerId: u.peerId,
    multiaddrs: u.multiaddrs,
    roles: u.roles,
    contents: u.contents.map(c => ({ contentId: c.contentId, chunkCount: c.chunkCount, complete: c.complete, bitfield: c.bitfield })),
    sequence: BigInt(u.sequence),
    timestampMs: BigInt(u.timestampMs)
  }))
}

/** Encode a metrics report as a `codio.tracker.v1.MetricsReport` message. @throws MalformedGossipError */
export function encodeMetrics (init: MetricsInit): Uint8Array {
  const u = validateMetrics(init)
  return toBinary(MetricsReportSchema, create(MetricsReportSchema, {
    peerId: u.peerId,
    uptimeSeconds: u.uptimeSeconds,
    chunksServed: BigInt(u.chunksServed),
    chunksFailed: BigInt(u.chunksFailed),
    bytesServed: BigInt(u.bytesServed),
    observations: u.observations.map(o => ({ ...o, failures: BigInt(o.failures), successes: BigInt(o.successes) })),
    sequence: BigInt(u.sequence),
    timestampMs: BigInt(u.timestampMs)
  }))
}

function parse<T> (decode: () => T): T {
  try {
    return decode()
  } catch (cause) {
    throw new MalformedGossipError(`not a valid protobuf message: ${(cause as Error).message}`, { cause })
  }
}

const wide = (v: bigint | string): bigint => typeof v === 'bigint' ? v : BigInt(v)

/**
 * Read an `Availability` message field by field, decoding at most `maxContents` content
 * entries: the rest are skipped unread (counted), so a large message from a peer allowed few
 * contents costs no more memory than a small one.
 */
function readAvailability (bytes: Uint8Array, maxContents: number): Omit<AvailabilityInit, 'contents'> & { contents: ContentChunks[], skipped: number } {
  const r = new BinaryReader(bytes)
  const out = { peerId: '', multiaddrs: [] as string[], roles: [] as string[], contents: [] as ContentChunks[], skipped: 0, sequence: 0, timestampMs: 0 }
  while (r.pos < r.len) {
    const [no, type] = r.tag()
    if (type === WireType.LengthDelimited && no === 1) out.peerId = r.string()
    else if (type === WireType.LengthDelimited && no === 2) out.multiaddrs.push(r.string())
    else if (type === WireType.LengthDelimited && no === 3) out.roles.push(r.string())
    else if (type === WireType.LengthDelimited && no === 4) {
      if (out.contents.length < maxContents) out.contents.push(fromBinary(ContentChunksSchema, r.bytes()))
      else {
        r.skip(type, no)
        out.skipped++
      }
    } else if (type === WireType.Varint && no === 5) out.sequence = count(wide(r.uint64()), 'sequence')
    else if (type === WireType.Varint && no === 6) out.timestampMs = count(wide(r.uint64()), 'timestamp')
    else r.skip(type, no)
    if (out.multiaddrs.length > MAX_MULTIADDRS) fail(`more than ${MAX_MULTIADDRS} multiaddrs`)
    if (out.roles.length > MAX_ROLES) fail(`more than ${MAX_ROLES} roles`)
    if (out.contents.length + out.skipped > MAX_CONTENTS_PER_MESSAGE) fail(`more than ${MAX_CONTENTS_PER_MESSAGE} contents`)
  }
  return out
}

/**
 * Decode and validate an `Availability` message (see {@link validateAvailability}: invalid
 * entries are left out and counted in `droppedContents`).
 *
 * @param maxContents decode at most this many content entries; the rest are skipped unread and
 *   counted in `skippedContents` (the tracker passes the sender's content limit)
 * @throws MalformedGossipError
 */
export function decodeAvailability (bytes: Uint8Array, maxContents = MAX_CONTENTS_PER_MESSAGE): AvailabilityUpdate {
  const m = parse(() => readAvailability(bytes, maxContents))
  const u = validateAvailability(m)
  if (m.skipped > 0) u.skippedContents = m.skipped
  return u
}

/** Decode and validate a `MetricsReport` message. @throws MalformedGossipError */
export function decodeMetrics (bytes: Uint8Array): MetricsUpdate {
  const m = parse(() => fromBinary(MetricsReportSchema, bytes))
  return validateMetrics({
    peerId: m.peerId,
    uptimeSeconds: m.uptimeSeconds,
    chunksServed: count(m.chunksServed, 'chunks served'),
    chunksFailed: count(m.chunksFailed, 'chunks failed'),
    bytesServed: count(m.bytesServed, 'bytes served'),
    sequence: count(m.sequence, 'sequence'),
    timestampMs: count(m.timestampMs, 'timestamp'),
    observations: m.observations.map(o => ({ peerId: o.peerId, bytesPerSecond: o.bytesPerSecond, failures: count(o.failures, 'failures'), successes: count(o.successes, 'successes') }))
  })
}

/**
 * Decode a message received on `subject`: the subject gives the kind, and the peer ID in it
 * must be the sender's (so one node cannot speak for another on its subject).
 *
 * @param maxContents availability: decode at most this many content entries (see {@link decodeAvailability})
 * @throws MalformedGossipError for an unknown subject, an undecodable or invalid message, or a
 *   sender that does not match the subject
 */
export function decodeGossip (subject: string, bytes: Uint8Array, prefix = DEFAULT_SUBJECT_PREFIX, maxContents = MAX_CONTENTS_PER_MESSAGE): Gossip {
  const s = parseGossipSubject(subject, prefix)
  if (s === undefined) fail(`subject ${subject.slice(0, 200)} is not ${prefix}.availability.<peerId> or ${prefix}.metrics.<peerId>`)
  const gossip: Gossip = s.kind === 'availability'
    ? { kind: 'availability', update: decodeAvailability(bytes, maxContents) }
    : { kind: 'metrics', update: decodeMetrics(bytes) }
  if (gossip.update.peerId !== s.peerId) fail(`message from ${gossip.update.peerId} on the subject of ${s.peerId}`)
  return gossip
}
