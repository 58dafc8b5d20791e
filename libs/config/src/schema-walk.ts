import type { z } from 'zod'

// Zod 4 keeps a schema's definition in `_zod.def`; only the parts needed to map config keys
// onto the schema are read here.
interface Def {
  type: string
  innerType?: z.ZodType
  in?: z.ZodType
  out?: z.ZodType
  getter?: () => z.ZodType
  shape?: Record<string, z.ZodType>
  catchall?: z.ZodType
  options?: readonly z.ZodType[]
  left?: z.ZodType
  right?: z.ZodType
  valueType?: z.ZodType
  element?: z.ZodType
}

function def (s: z.ZodType): Def {
  return (s as unknown as { _zod: { def: Def } })._zod.def
}

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional', 'success'])

/** Strips optional/default/readonly/lazy/pipe wrappers down to the schema that sees input. */
export function unwrap (s: z.ZodType): z.ZodType {
  for (let i = 0; i < 64; i++) {
    const d = def(s)
    if (WRAPPERS.has(d.type) && d.innerType !== undefined) s = d.innerType
    else if (d.type === 'lazy' && d.getter !== undefined) s = d.getter()
    else if (d.type === 'pipe' && d.in !== undefined) {
      // z.preprocess puts a transform first; the real shape is on the output side then
      s = def(d.in).type === 'transform' && d.out !== undefined ? d.out : d.in
    } else return s
  }
  return s
}

/** What a schema node expects, as far as key mapping cares. */
export type Node =
  | { kind: 'object', shape: Record<string, z.ZodType>, open: boolean }
  | { kind: 'record', value: z.ZodType }
  | { kind: 'array', element: z.ZodType }
  | { kind: 'string' }
  | { kind: 'other' }

export function nodeOf (schema: z.ZodType): Node {
  const s = unwrap(schema)
  const d = def(s)
  switch (d.type) {
    case 'object':
      return { kind: 'object', shape: { ...d.shape }, open: d.catchall !== undefined && def(d.catchall).type !== 'never' }
    case 'union': {
      const shapes = (d.options ?? []).map(nodeOf).filter(n => n.kind === 'object')
      if (shapes.length === 0) return { kind: 'other' }
      return { kind: 'object', shape: Object.assign({}, ...shapes.reverse().map(n => n.shape)), open: shapes.some(n => n.open) }
    }
    case 'intersection': {
      const l = d.left !== undefined ? nodeOf(d.left) : { kind: 'other' as const }
      const r = d.right !== undefined ? nodeOf(d.right) : { kind: 'other' as const }
      if (l.kind === 'object' && r.kind === 'object') return { kind: 'object', shape: { ...l.shape, ...r.shape }, open: l.open && r.open }
      return l.kind === 'object' ? l : r
    }
    case 'record':
      return d.valueType !== undefined ? { kind: 'record', value: d.valueType } : { kind: 'other' }
    case 'array':
      return d.element !== undefined ? { kind: 'array', element: d.element } : { kind: 'other' }
    case 'string':
    case 'enum':
    case 'template_literal':
      return { kind: 'string' }
    default:
      return { kind: 'other' }
  }
}

/** Case- and separator-insensitive form: "max_upload_bytes", "MAX-UPLOAD-BYTES", "maxUploadBytes" → "maxuploadbytes". */
export function canonicalKey (k: string): string {
  return k.replace(/[_-]/g, '').toLowerCase()
}

/** "MAX_UPLOAD_BYTES" → "maxUploadBytes" */
export function camelCase (k: string): string {
  return k.toLowerCase().replace(/[_-]+([a-z0-9])/g, (_, c: string) => c.toUpperCase())
}

/**
 * The schema key an input key names: the exact key, else the single key with the same
 * {@link canonicalKey}. `undefined` if none.
 */
export function matchKey (key: string, shape: Record<string, z.ZodType>): string | undefined {
  if (Object.hasOwn(shape, key)) return key
  const c = canonicalKey(key)
  const hits = Object.keys(shape).filter(k => canonicalKey(k) === c)
  return hits.length === 1 ? hits[0] : undefined
}
