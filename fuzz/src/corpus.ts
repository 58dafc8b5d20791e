/**
 * The committed inputs of each target, one JSON file per input:
 * - `fuzz/corpus/<target>/*.json`: seeds — valid messages and edge cases — and inputs worth
 *   keeping; replayed by `npm test` and before every `npm run fuzz`;
 * - `fuzz/crashes/<target>/*.json`: every input a run found failing, saved by the run (shrunk)
 *   and replayed by `npm test` forever after (it passes once the defect is fixed).
 *
 * A file holds `{ "input": <the property's arguments>, "note": "..." }`; the arguments are JSON
 * with tags for what JSON cannot hold: `{"$bytes": "<base64>"}` (Uint8Array),
 * `{"$bigint": "123"}`, `{"$number": "NaN" | "Infinity" | "-Infinity" | "-0"}`,
 * `{"$undefined": true}`. Object keys (`__proto__` included) stay own keys.
 */
import { createHash } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The fuzz workspace (this file is in `src/` or `dist/` under it); `FUZZ_DIR` overrides. */
export const fuzzDir = (): string => process.env.FUZZ_DIR ?? join(dirname(fileURLToPath(import.meta.url)), '..')

export const corpusDir = (target: string): string => join(fuzzDir(), 'corpus', target)
export const crashDir = (target: string): string => join(fuzzDir(), 'crashes', target)

const TAGS = ['$bytes', '$bigint', '$number', '$undefined'] as const

/** `value` as tagged JSON (see the module comment). */
export function encodeInput (value: unknown): unknown {
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') }
  if (typeof value === 'bigint') return { $bigint: value.toString() }
  if (value === undefined) return { $undefined: true }
  if (typeof value === 'number') {
    if (Object.is(value, -0)) return { $number: '-0' }
    return Number.isFinite(value) ? value : { $number: String(value) }
  }
  if (Array.isArray(value)) return value.map(encodeInput)
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) Object.defineProperty(out, k, { value: encodeInput(v), enumerable: true, writable: true, configurable: true })
    return out
  }
  return value
}

/** The value {@link encodeInput} gave `json`. */
export function decodeInput (json: unknown): unknown {
  if (Array.isArray(json)) return json.map(decodeInput)
  if (json !== null && typeof json === 'object') {
    const o = json as Record<string, unknown>
    const keys = Object.keys(o)
    if (keys.length === 1 && (TAGS as readonly string[]).includes(keys[0])) {
      const v = o[keys[0]]
      if (keys[0] === '$bytes') return new Uint8Array(Buffer.from(String(v), 'base64'))
      if (keys[0] === '$bigint') return BigInt(String(v))
      if (keys[0] === '$undefined') return undefined
      return v === '-0' ? -0 : Number(v)
    }
    const out: Record<string, unknown> = {}
    for (const k of keys) Object.defineProperty(out, k, { value: decodeInput(o[k]), enumerable: true, writable: true, configurable: true })
    return out
  }
  return json
}

/** One stored input: its file and the property's arguments. */
export interface StoredInput { file: string, input: unknown, note?: string }

/** Every input stored in `dir` (none if it does not exist), by file name. */
export function readInputs (dir: string): StoredInput[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir).filter(f => f.endsWith('.json')).sort().map(f => {
    const file = join(dir, f)
    const { input, note } = JSON.parse(readFileSync(file, 'utf8')) as { input: unknown, note?: string }
    return { file, input: decodeInput(input), note }
  })
}

/**
 * Store `input` in `dir` as `<name>-<first 12 hex of the sha-256 of its JSON>.json` (so the
 * same input is stored once); returns the file.
 */
export function storeInput (dir: string, name: string, input: unknown, note?: string): string {
  const json = JSON.stringify(encodeInput(input))
  const hash = createHash('sha256').update(json).digest('hex').slice(0, 12)
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `${name}-${hash}.json`)
  writeFileSync(file, JSON.stringify({ ...(note === undefined ? {} : { note }), input: JSON.parse(json) }, null, 1) + '\n')
  return file
}
