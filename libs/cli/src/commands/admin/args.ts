import type { JsonObject, JsonValue } from '@bufbuild/protobuf'
import { InvalidArgumentError } from 'commander'

/** Node roles a cluster document or a preheat job can target. */
export const ROLES = ['edge', 'relay', 'origin'] as const

/** commander parser of `--role`. */
export function roleArg (value: string): string {
  if (!(ROLES as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${ROLES.join(', ')}`)
  return value
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 }

/**
 * Parse a duration into whole seconds: plain seconds (`90`) or Go-style units
 * (`30s`, `15m`, `1h30m`, `2d`). Throws commander's InvalidArgumentError (a usage error).
 */
export function durationArg (value: string): number {
  const text = value.trim()
  let seconds = 0
  if (/^\d+$/.test(text)) {
    seconds = Number(text)
  } else if (/^(\d+[smhd])+$/.test(text)) {
    for (const [, n, unit] of text.matchAll(/(\d+)([smhd])/g)) seconds += Number(n) * UNIT_SECONDS[unit]
  } else {
    throw new InvalidArgumentError('expected a duration such as 90, 30s, 15m, 1h30m or 2d')
  }
  if (!Number.isSafeInteger(seconds) || seconds > 0xffff_ffff) throw new InvalidArgumentError('duration too long')
  return seconds
}

/** A partial configuration document and the TOML paths it changes, for one atomic UpdateConfig. */
export interface ConfigUpdate {
  config: JsonObject
  updateMask: string[]
}

const SEGMENT = /^[A-Za-z_][A-Za-z0-9_-]*$/

/**
 * Turn `KEY=VALUE` arguments into one update. KEY is a TOML path (`swarm.maxUploadRate`);
 * VALUE is JSON when it parses as JSON (`8`, `true`, `["a","b"]`), else a string (`10MB`,
 * `30s`); `KEY=` with nothing after drops the runtime value: the path is in the mask and
 * absent from the document. An object value adds each of its leaves to the mask.
 *
 * @throws InvalidArgumentError (a usage error) on a malformed pair, a repeated key, or a key
 * that is both a setting and a section of another (`swarm=1 swarm.x=2`)
 */
export function parseConfigAssignments (pairs: string[]): ConfigUpdate {
  const config: JsonObject = {}
  const mask: string[] = []
  const seen: string[] = []
  for (const pair of pairs) {
    const eq = pair.indexOf('=')
    if (eq < 0) throw new InvalidArgumentError(`"${pair}": expected KEY=VALUE (KEY= drops the runtime value)`)
    const key = pair.slice(0, eq)
    const path = key.split('.')
    if (!path.every(s => SEGMENT.test(s))) throw new InvalidArgumentError(`"${key}": not a TOML path like swarm.maxUploadRate`)
    const clash = seen.find(k => k === key || k.startsWith(`${key}.`) || key.startsWith(`${k}.`))
    if (clash != null) throw new InvalidArgumentError(clash === key ? `"${key}" given twice` : `"${key}" and "${clash}" overlap`)
    seen.push(key)
    const text = pair.slice(eq + 1)
    if (text === '') { mask.push(key); continue }
    const value = parseValue(text)
    setPath(config, path, value)
    mask.push(...leaves(key, value))
  }
  return { config, updateMask: mask }
}

function parseValue (text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue
  } catch {
    return text
  }
}

function setPath (doc: JsonObject, path: string[], value: JsonValue): void {
  let node = doc
  for (const segment of path.slice(0, -1)) {
    const next = node[segment]
    if (next == null || typeof next !== 'object' || Array.isArray(next)) node[segment] = {}
    node = node[segment] as JsonObject
  }
  node[path[path.length - 1]] = value
}

function leaves (prefix: string, value: JsonValue): string[] {
  if (value == null || typeof value !== 'object' || Array.isArray(value) || Object.keys(value).length === 0) return [prefix]
  return Object.entries(value).flatMap(([k, v]) => leaves(`${prefix}.${k}`, v))
}

/** Every leaf of a document as `[path, value]`, sorted by path (arrays are leaves). */
export function flatten (doc: JsonValue | undefined, prefix = ''): Array<[string, JsonValue]> {
  if (doc == null || typeof doc !== 'object' || Array.isArray(doc)) return prefix === '' ? [] : [[prefix, doc ?? null]]
  const entries = Object.entries(doc)
  if (entries.length === 0 && prefix !== '') return [[prefix, {}]]
  return entries.flatMap(([k, v]) => flatten(v, prefix === '' ? k : `${prefix}.${k}`)).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
}

/** A value as a person reads it: strings bare, everything else as JSON. */
export function showValue (value: JsonValue | undefined): string {
  return typeof value === 'string' ? value : JSON.stringify(value ?? null)
}
