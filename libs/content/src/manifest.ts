import { CID } from 'multiformats/cid'
import {
  MANIFEST_VERSION, MAX_CHUNK_SIZE, MAX_FEC_SHARDS, MAX_MEDIA_TYPE_LENGTH, MIN_CHUNK_SIZE, RAW_CODEC
} from './constants.js'
import { cidProblem } from './sha256.js'

/** The parity chunks of one FEC group, in shard order. */
export interface FecGroup {
  /** `parityShards` raw sha2-256 CIDs */
  parity: CID[]
}

/**
 * Reed-Solomon FEC layout: each group of `dataShards` consecutive data chunks (the last group
 * may be shorter) is protected by `parityShards` parity chunks. GF(2^8) caps
 * `dataShards + parityShards` at 256.
 */
export interface FecParams {
  /** k, data chunks per group, ≥ 1 */
  dataShards: number
  /** m, parity chunks per group, ≥ 1 */
  parityShards: number
  /** `ceil(chunks.length / dataShards)` groups */
  groups: FecGroup[]
}

/** Everything a manifest says except its signature. */
export interface UnsignedManifest {
  version: 1
  /** content length in bytes, a safe non-negative integer */
  size: number
  /** media type for Content-Type, e.g. "video/mp4" */
  mediaType: string
  /** bytes per chunk, in [MIN_CHUNK_SIZE, MAX_CHUNK_SIZE] */
  chunkSize: number
  /** data-chunk CIDs in order, `ceil(size / chunkSize)` of them */
  chunks: CID[]
  fec?: FecParams
  /** creation time, milliseconds since the Unix epoch */
  createdAt: number
  /** 32-byte Ed25519 publisher public key */
  publisher: Uint8Array
}

/** A signed manifest. */
export interface Manifest extends UnsignedManifest {
  /** 64-byte Ed25519 signature over {@link manifestSigningBytes} */
  signature: Uint8Array
}

/** Number of data chunks of a manifest: `ceil(size / chunkSize)`. */
export function chunkCount (m: Pick<UnsignedManifest, 'size' | 'chunkSize'>): number {
  return Math.ceil(m.size / m.chunkSize)
}

function isSafeNonNegativeInteger (n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0
}

function isPlainObject (v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false
  const proto = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}

function rawCidProblem (v: unknown, what: string): string | undefined {
  const cid = CID.asCID(v)
  if (cid === null) return `${what} is not a CID`
  const p = cidProblem(cid, RAW_CODEC, 'raw')
  return p === undefined ? undefined : `${what} ${cid.toString()}: ${p}`
}

/**
 * @internal Why `m` breaks a manifest rule, or undefined. Checks the fields of
 * {@link UnsignedManifest} and, when `withSignature`, a 64-byte `signature`.
 */
export function manifestProblem (m: unknown, withSignature: boolean): string | undefined {
  if (!isPlainObject(m)) return 'not an object'
  if (m.version !== MANIFEST_VERSION) return `unsupported version ${JSON.stringify(m.version)}, expected ${MANIFEST_VERSION}`
  if (!isSafeNonNegativeInteger(m.size)) return `size must be a safe non-negative integer, got ${describe(m.size)}`
  if (typeof m.mediaType !== 'string') return `mediaType must be a string, got ${describe(m.mediaType)}`
  if (m.mediaType.length === 0 || m.mediaType.length > MAX_MEDIA_TYPE_LENGTH) return `mediaType must be 1..${MAX_MEDIA_TYPE_LENGTH} characters`
  // It ends up in a Content-Type header: printable ASCII only, and a type/subtype shape.
  if (!/^[\x20-\x7e]+$/.test(m.mediaType) || !/^[^\s/;]+\/[^\s/;]+/.test(m.mediaType)) return `mediaType ${JSON.stringify(m.mediaType)} is not a type/subtype media type`
  if (typeof m.chunkSize !== 'number' || !Number.isInteger(m.chunkSize) || m.chunkSize < MIN_CHUNK_SIZE || m.chunkSize > MAX_CHUNK_SIZE) {
    return `chunkSize must be an integer in [${MIN_CHUNK_SIZE}, ${MAX_CHUNK_SIZE}], got ${describe(m.chunkSize)}`
  }
  if (!Array.isArray(m.chunks)) return `chunks must be an array, got ${describe(m.chunks)}`
  const expected = chunkCount({ size: m.size, chunkSize: m.chunkSize })
  if (m.chunks.length !== expected) return `chunks has ${m.chunks.length} entries, expected ceil(size / chunkSize) = ${expected}`
  for (let i = 0; i < m.chunks.length; i++) {
    const p = rawCidProblem(m.chunks[i], `chunks[${i}]`)
    if (p !== undefined) return p
  }
  if (m.fec !== undefined) {
    const p = fecProblem(m.fec, m.chunks.length)
    if (p !== undefined) return p
  }
  if (!isSafeNonNegativeInteger(m.createdAt)) return `createdAt must be a safe non-negative integer (ms since epoch), got ${describe(m.createdAt)}`
  if (!(m.publisher instanceof Uint8Array) || m.publisher.length !== 32) return `publisher must be 32 bytes, got ${describe(m.publisher)}`
  if (withSignature && (!(m.signature instanceof Uint8Array) || m.signature.length !== 64)) return `signature must be 64 bytes, got ${describe(m.signature)}`
  return undefined
}

function fecProblem (fec: unknown, dataChunks: number): string | undefined {
  if (!isPlainObject(fec)) return `fec must be an object, got ${describe(fec)}`
  const { dataShards, parityShards, groups } = fec
  if (typeof dataShards !== 'number' || !Number.isInteger(dataShards) || dataShards < 1) return `fec.dataShards must be an integer ≥ 1, got ${describe(dataShards)}`
  if (typeof parityShards !== 'number' || !Number.isInteger(parityShards) || parityShards < 1) return `fec.parityShards must be an integer ≥ 1, got ${describe(parityShards)}`
  if (dataShards + parityShards > MAX_FEC_SHARDS) return `fec.dataShards + fec.parityShards must be ≤ ${MAX_FEC_SHARDS}, got ${dataShards + parityShards}`
  if (!Array.isArray(groups)) return `fec.groups must be an array, got ${describe(groups)}`
  const expected = Math.ceil(dataChunks / dataShards)
  if (groups.length !== expected) return `fec.groups has ${groups.length} entries, expected ceil(chunks / dataShards) = ${expected}`
  for (let g = 0; g < groups.length; g++) {
    const group: unknown = groups[g]
    if (!isPlainObject(group) || !Array.isArray(group.parity)) return `fec.groups[${g}] must be { parity: CID[] }`
    if (Object.keys(group).length !== 1) return `fec.groups[${g}] has unknown keys`
    if (group.parity.length !== parityShards) return `fec.groups[${g}].parity has ${group.parity.length} entries, expected ${parityShards}`
    for (let i = 0; i < group.parity.length; i++) {
      const p = rawCidProblem(group.parity[i], `fec.groups[${g}].parity[${i}]`)
      if (p !== undefined) return p
    }
  }
  return undefined
}

function describe (v: unknown): string {
  if (v instanceof Uint8Array) return `${v.length} bytes`
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  if (typeof v === 'bigint') return `${v}n`
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  return typeof v
}
