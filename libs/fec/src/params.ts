import { InvalidFecParamsError } from './errors.js'
import { MAX_SHARDS } from './constants.js'

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
 * Parses an FEC spec as written on command lines and query strings: `"k+m"` (e.g. `"10+4"`)
 * or `"none"` (no parity).
 *
 * @returns the code, or `undefined` for `"none"`
 * @throws InvalidFecParamsError for anything else, or parameters out of range
 */
export function parseFecSpec (spec: string): FecCode | undefined {
  const s = spec.trim().toLowerCase()
  if (s === 'none' || s === 'off') return undefined
  const match = /^(\d{1,3})\s*\+\s*(\d{1,3})$/.exec(s)
  if (match == null) throw new InvalidFecParamsError(`FEC spec must be "k+m" (e.g. "10+4") or "none", got ${JSON.stringify(spec)}`)
  const code = { dataShards: Number(match[1]), parityShards: Number(match[2]) }
  assertFecCode(code)
  return code
}

/** `"k+m"`, or `"none"`. */
export function formatFecSpec (code: FecCode | undefined): string {
  return code == null ? 'none' : `${code.dataShards}+${code.parityShards}`
}
