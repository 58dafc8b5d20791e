import { InvalidFecParamsError } from './errors.js'
import { MAX_FEC_GROUP_BYTES, MAX_INGEST_SHARDS, MAX_PARITY_RATIO, MAX_SHARDS } from './constants.js'

/** A Reed-Solomon code: `dataShards` (k) data chunks protected by `parityShards` (m) parity chunks. */
export interface FecCode {
  dataShards: number
  parityShards: number
}

/**
 * Throws unless k ≥ 1, m ≥ 1, integers, k + m ≤ 256.
 *
 * @throws InvalidFecParamsError
 */
export function assertFecCode (code: FecCode): void {
  const { dataShards: k, parityShards: m } = code
  if (!Number.isInteger(k) || k < 1) throw new InvalidFecParamsError(`FEC data shards must be an integer ≥ 1, got ${k}`)
  if (!Number.isInteger(m) || m < 1) throw new InvalidFecParamsError(`FEC parity shards must be an integer ≥ 1, got ${m}`)
  if (k + m > MAX_SHARDS) throw new InvalidFecParamsError(`FEC data + parity shards must be ≤ ${MAX_SHARDS}, got ${k + m}`)
}

/**
 * Throws unless an upload may use `code` (on top of {@link assertFecCode}): k + m ≤
 * {@link MAX_INGEST_SHARDS}, m ≤ k × {@link MAX_PARITY_RATIO}, and, when `chunkSize` (bytes) is
 * given, (k + m) × chunkSize ≤ {@link MAX_FEC_GROUP_BYTES}. Manifests coded before these limits
 * still decode: only new uploads are held to them.
 *
 * @throws InvalidFecParamsError naming the limit
 */
export function assertIngestFecCode (code: FecCode, chunkSize?: number): void {
  assertFecCode(code)
  const { dataShards: k, parityShards: m } = code
  if (k + m > MAX_INGEST_SHARDS) throw new InvalidFecParamsError(`FEC data + parity shards must be ≤ ${MAX_INGEST_SHARDS} (MAX_INGEST_SHARDS), got ${k}+${m}`)
  if (m > k * MAX_PARITY_RATIO) throw new InvalidFecParamsError(`FEC parity shards must be ≤ data shards × ${MAX_PARITY_RATIO} (MAX_PARITY_RATIO), got ${k}+${m}`)
  if (chunkSize != null && (k + m) * chunkSize > MAX_FEC_GROUP_BYTES) {
    throw new InvalidFecParamsError(`an FEC group of ${k}+${m} shards of ${chunkSize} bytes spans ${(k + m) * chunkSize} bytes, over the limit of ${MAX_FEC_GROUP_BYTES} (MAX_FEC_GROUP_BYTES): lower k + m or the chunk size`)
  }
}

/**
 * Parses an FEC spec as written on command lines and query strings: `"k+m"` (e.g. `"10+4"`;
 * also `"k m"`, what an unencoded `?fec=10+4` arrives as, since a query string's `+` means a
 * space) or `"none"` (no parity). The code must be one an upload may use
 * ({@link assertIngestFecCode} without a chunk size).
 *
 * @returns the code, or `undefined` for `"none"`
 * @throws InvalidFecParamsError for anything else, or parameters out of range
 */
export function parseFecSpec (spec: string): FecCode | undefined {
  if (typeof spec !== 'string') throw new InvalidFecParamsError(`FEC spec must be one string "k+m" or "none", got ${JSON.stringify(spec)}`)
  const s = spec.trim().toLowerCase()
  if (s === 'none' || s === 'off') return undefined
  const match = /^(\d{1,3})(?:\s*\+\s*|\s+)(\d{1,3})$/.exec(s)
  if (match == null) throw new InvalidFecParamsError(`FEC spec must be "k+m" (e.g. "10+4") or "none", got ${JSON.stringify(spec)}`)
  const code = { dataShards: Number(match[1]), parityShards: Number(match[2]) }
  assertIngestFecCode(code)
  return code
}

/** `"k+m"`, or `"none"`. */
export function formatFecSpec (code: FecCode | undefined): string {
  return code == null ? 'none' : `${code.dataShards}+${code.parityShards}`
}
