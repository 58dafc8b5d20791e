import { readFileSync } from 'node:fs'
import { parse as parseToml, TomlError } from 'smol-toml'
import type { z } from 'zod'
import { ConfigError, type ConfigIssue } from './errors.js'
import { camelCase, matchKey, nodeOf, type Node } from './schema-walk.js'

export interface LoadConfigOptions<S extends z.ZodType> {
  /** the schema; its defaults are the bottom layer */
  schema: S
  /** a TOML file (TOML v1.0.0); keys may be camelCase as in the schema or snake_case */
  file?: string
  /** environment, default `process.env` (read at call time) */
  env?: Record<string, string | undefined>
  /** prefix of the env vars read, default "CODIO_" */
  envPrefix?: string
  /** the top layer, e.g. from command-line flags; keys as in the schema */
  overrides?: Record<string, unknown>
}

export type Path = Array<string | number>
export type Obj = Record<string, unknown>

/**
 * Loads configuration in layers, each overriding the one before: schema defaults ← TOML file
 * ← environment ← `overrides`, then validates the result with `schema`.
 *
 * Environment: every var starting with `envPrefix` whose first segment is a top-level setting
 * names a setting (others belong to other programs and are ignored): `__` separates levels and
 * `_` separates words, matched case-insensitively against the schema's keys
 * (`CODIO_HTTP__MAX_UPLOAD_BYTES=5` → `{ http: { maxUploadBytes: 5 } }`). A value is parsed as
 * JSON when it is valid JSON (so `[1,2]`, `true`, `{"a":1}` work), else taken as a string; a
 * setting the schema types as a string always gets the raw string.
 *
 * Unknown keys are refused whether or not the schema is a `z.strictObject` (only objects with
 * a catchall, such as `z.looseObject`, accept them). With Zod 4, give nested objects
 * `.prefault({})` rather than `.default({})` so their own defaults apply.
 *
 * @returns the parsed configuration, `z.infer<S>`
 * @throws ConfigError listing every problem at once: unreadable file, TOML syntax error (with
 *   line and column), unknown keys, env vars naming no setting inside a known table, and every schema issue, each
 *   with the file or env var it came from
 */
export function loadConfig<S extends z.ZodType> (opts: LoadConfigOptions<S>): z.infer<S> {
  const issues: ConfigIssue[] = []
  const sources = new Map<string, string>()
  let fileFailed = false

  let fromFile: Obj = {}
  if (opts.file !== undefined) {
    const raw = readToml(opts.file, issues)
    if (raw === undefined) fileFailed = true
    else fromFile = normalize(raw, opts.schema, [], opts.file, issues, sources) as Obj
  }

  const fromEnv = readEnv(opts.env ?? process.env, opts.envPrefix ?? 'CODIO_', opts.schema, issues, sources)

  const fromOverrides = opts.overrides === undefined
    ? {}
    : normalize(opts.overrides, opts.schema, [], 'overrides', issues, sources) as Obj

  const merged = merge(merge(fromFile, fromEnv), fromOverrides)
  const result = opts.schema.safeParse(merged)
  if (!result.success) {
    for (const issue of result.error.issues) {
      const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol')
      const keys = issue.code === 'unrecognized_keys' ? issue.keys.map(k => [...path, k]) : [path]
      for (const p of keys) {
        const source = sourceOf(p, sources)
        // With a broken file, a "missing" value is most likely in that file: report only
        // what the other layers got wrong.
        if (fileFailed && (source === undefined || source === opts.file)) continue
        issues.push({ path: formatPath(p), message: issue.code === 'unrecognized_keys' ? 'unknown key' : issue.message, ...(source === undefined ? {} : { source }) })
      }
    }
  }
  if (issues.length > 0) throw new ConfigError(issues)
  if (!result.success) throw new ConfigError([{ path: '', message: 'invalid configuration' }])
  return result.data as z.infer<S>
}

export function readToml (file: string, issues: ConfigIssue[]): Obj | undefined {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code
    issues.push({ path: '', message: `cannot read config file: ${code === 'ENOENT' ? 'no such file' : (cause as Error).message}`, source: file })
    return undefined
  }
  try {
    return parseToml(text) as Obj
  } catch (err) {
    if (err instanceof TomlError) {
      const reason = err.message.split('\n')[0].replace(/^Invalid TOML document: /, '')
      issues.push({ path: '', message: `TOML syntax error at line ${err.line}, column ${err.column}: ${reason}`, source: file })
    } else {
      issues.push({ path: '', message: `cannot parse TOML: ${(err as Error).message}`, source: file })
    }
    return undefined
  }
}

/**
 * Maps input keys onto schema keys (exact, else case/separator-insensitive), drops and reports
 * unknown keys, and records where each value came from.
 */
export function normalize (value: unknown, schema: z.ZodType | undefined, path: Path, source: string, issues: ConfigIssue[], sources: Map<string, string>): unknown {
  const node: Node = schema === undefined ? { kind: 'other' } : nodeOf(schema)
  // Only values (and objects taken whole) get a source: a table that merely contains values
  // must not be blamed for a key missing from it.
  if (!isPlainObject(value) || (node.kind !== 'object' && node.kind !== 'record')) sources.set(formatPath(path), source)
  if (isPlainObject(value)) {
    if (node.kind === 'object') {
      const out: Obj = {}
      const seen = new Map<string, string>()
      for (const [k, v] of Object.entries(value)) {
        const key = matchKey(k, node.shape)
        if (key === undefined) {
          if (node.open) out[k] = normalize(v, undefined, [...path, k], source, issues, sources)
          else issues.push({ path: formatPath([...path, k]), message: 'unknown key', source })
          continue
        }
        const prev = seen.get(key)
        if (prev !== undefined) {
          issues.push({ path: formatPath([...path, key]), message: `given twice, as "${prev}" and "${k}"`, source })
          continue
        }
        seen.set(key, k)
        out[key] = normalize(v, node.shape[key], [...path, key], source, issues, sources)
      }
      return out
    }
    if (node.kind === 'record') {
      const out: Obj = {}
      for (const [k, v] of Object.entries(value)) out[k] = normalize(v, node.value, [...path, k], source, issues, sources)
      return out
    }
    return value
  }
  if (Array.isArray(value) && node.kind === 'array') {
    return value.map((v, i) => normalize(v, node.element, [...path, i], source, issues, sources))
  }
  return value
}

export function readEnv (env: Record<string, string | undefined>, prefix: string, schema: z.ZodType, issues: ConfigIssue[], sources: Map<string, string>): Obj {
  const out: Obj = {}
  const owner = new Map<string, string>()
  for (const name of Object.keys(env).sort()) {
    const raw = env[name]
    if (raw === undefined || !name.startsWith(prefix) || name.length === prefix.length) continue
    const segments = name.slice(prefix.length).split('__')
    if (segments.some(s => s === '')) {
      issues.push({ path: '', message: `malformed variable name (empty segment between "__")`, source: name })
      continue
    }
    const path: string[] = []
    let current: z.ZodType | undefined = schema
    let ok = true
    for (const seg of segments) {
      const node: Node = current === undefined ? { kind: 'other' as const } : nodeOf(current)
      if (node.kind === 'object') {
        const key = matchKey(seg, node.shape)
        if (key !== undefined) {
          path.push(key)
          current = node.shape[key]
        } else if (node.open) {
          path.push(camelCase(seg))
          current = undefined
        } else if (path.length === 0) {
          // a top-level name this schema does not know belongs to another program sharing the
          // environment (CODIO_ORIGIN for the CLI, another service's table): not ours to judge
          ok = false
          break
        } else {
          issues.push({ path: formatPath([...path, camelCase(seg)]), message: 'no such setting', source: name })
          ok = false
          break
        }
      } else if (node.kind === 'record' || current === undefined) {
        path.push(camelCase(seg))
        current = node.kind === 'record' ? node.value : undefined
      } else {
        issues.push({ path: formatPath(path), message: `is not a table, so ${name} cannot set a key inside it`, source: name })
        ok = false
        break
      }
    }
    if (!ok) continue
    const key = formatPath(path)
    const prev = owner.get(key)
    if (prev !== undefined) {
      issues.push({ path: key, message: `set by both ${prev} and ${name}`, source: name })
      continue
    }
    owner.set(key, name)
    const leaf = current === undefined ? { kind: 'other' as const } : nodeOf(current)
    const value = leaf.kind === 'string' ? raw : parseJsonOrString(raw)
    const normalized = normalize(value, current, path, name, issues, sources)
    setPath(out, path, normalized)
  }
  return out
}

function parseJsonOrString (raw: string): unknown {
  try {
    return JSON.parse(raw)
  } catch {
    return raw
  }
}

export function setPath (target: Obj, path: string[], value: unknown): void {
  let o = target
  for (const k of path.slice(0, -1)) {
    if (!isPlainObject(o[k])) o[k] = {}
    o = o[k] as Obj
  }
  const last = path[path.length - 1]
  o[last] = isPlainObject(o[last]) && isPlainObject(value) ? merge(o[last] as Obj, value) : value
}

/** Deep merge of plain objects; arrays and scalars in `top` replace those in `base`. */
export function merge (base: Obj, top: Obj): Obj {
  const out: Obj = { ...base }
  for (const [k, v] of Object.entries(top)) {
    out[k] = isPlainObject(out[k]) && isPlainObject(v) ? merge(out[k] as Obj, v) : v
  }
  return out
}

export function isPlainObject (v: unknown): v is Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false
  const proto = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}

export function sourceOf (path: Path, sources: Map<string, string>): string | undefined {
  for (let n = path.length; n >= 0; n--) {
    const s = sources.get(formatPath(path.slice(0, n)))
    if (s !== undefined) return s
  }
  return undefined
}

/** ["peers", 0, "addr"] → "peers[0].addr" */
export function formatPath (path: Path): string {
  let out = ''
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : (out === '' ? p : `.${p}`)
  return out
}
