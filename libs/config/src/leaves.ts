import type { z } from 'zod'
import { isPlainObject, type Obj } from './load-config.js'
import { matchKey, nodeOf } from './schema-walk.js'

/**
 * Settings as leaves: a leaf is a schema node that is not a table (an object), so a scalar,
 * an array or a record; its path is the dotted TOML path of camelCase schema keys
 * ("swarm.maxUploadRate").
 */

/** Every leaf path of `schema`, sorted. */
export function schemaLeaves (schema: z.ZodType): string[] {
  const out: string[] = []
  const walk = (s: z.ZodType, prefix: string[]): void => {
    const node = nodeOf(s)
    if (node.kind !== 'object' || prefix.length > 32) {
      out.push(prefix.join('.'))
      return
    }
    for (const [k, v] of Object.entries(node.shape)) walk(v, [...prefix, k])
  }
  walk(schema, [])
  return out.filter(p => p !== '').sort()
}

/**
 * The schema keys a dotted path names (each segment matched as the file's keys are: exactly,
 * else case- and separator-insensitively), and whether it ends at a leaf or at a table.
 * `undefined` when a segment names nothing.
 */
export function resolvePath (schema: z.ZodType, dotted: string): { path: string[], leaf: boolean } | undefined {
  const segments = dotted.split('.')
  if (segments.some(s => s === '')) return undefined
  const path: string[] = []
  let current: z.ZodType = schema
  for (const seg of segments) {
    const node = nodeOf(current)
    if (node.kind !== 'object') return undefined
    const key = matchKey(seg, node.shape)
    if (key === undefined) return undefined
    path.push(key)
    current = node.shape[key]
  }
  return { path, leaf: nodeOf(current).kind !== 'object' }
}

/** A normalized document (schema keys) flattened to its leaves, by dotted path. */
export function docLeaves (doc: unknown, schema: z.ZodType | undefined): Map<string, unknown> {
  const out = new Map<string, unknown>()
  const walk = (v: unknown, s: z.ZodType | undefined, prefix: string[]): void => {
    const node = s === undefined ? undefined : nodeOf(s)
    if (isPlainObject(v) && (node === undefined || node.kind === 'object') && prefix.length <= 32) {
      for (const [k, child] of Object.entries(v)) walk(child, node?.kind === 'object' ? node.shape[k] : undefined, [...prefix, k])
      return
    }
    if (prefix.length > 0) out.set(prefix.join('.'), v)
  }
  walk(doc, schema, [])
  return out
}

/** The document holding `leaves` (dotted paths) as nested tables. */
export function leavesDoc (leaves: Map<string, unknown>): Obj {
  const out: Obj = {}
  for (const [path, value] of leaves) {
    const keys = path.split('.')
    let o = out
    for (const k of keys.slice(0, -1)) {
      if (!isPlainObject(o[k])) o[k] = {}
      o = o[k] as Obj
    }
    o[keys[keys.length - 1]] = value
  }
  return out
}

/** The value at `path` in a nested document, or `undefined`. */
export function getPath (doc: unknown, path: string[]): unknown {
  let v = doc
  for (const k of path) {
    if (!isPlainObject(v) || !Object.hasOwn(v, k)) return undefined
    v = v[k]
  }
  return v
}

/** Whether a nested document holds a value at `path`. */
export function hasPath (doc: unknown, path: string[]): boolean {
  let v = doc
  for (const k of path) {
    if (!isPlainObject(v) || !Object.hasOwn(v, k)) return false
    v = v[k]
  }
  return true
}

/** Structural equality of JSON-like values (objects compared key by key, any order). */
export function sameValue (a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i]))
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a)
    return ka.length === Object.keys(b).length && ka.every(k => Object.hasOwn(b, k) && sameValue(a[k], b[k]))
  }
  return false
}
