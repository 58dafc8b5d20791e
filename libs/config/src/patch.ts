import type { z } from 'zod'
import { ConfigError, RestartRequiredError, type ConfigIssue } from './errors.js'
import { docLeaves, leavesDoc, resolvePath } from './leaves.js'
import { formatPath, isPlainObject, normalize, type Obj } from './load-config.js'
import { isSecretPath } from './redact.js'

/** Where issues about an update's values come from. */
export const UPDATE_SOURCE = 'update'

/** What an update does to a layer's leaves. */
export interface PatchOutcome {
  /** the layer after the update, by leaf path */
  leaves: Map<string, unknown>
  /** leaf paths given a value */
  set: string[]
  /** leaf paths whose value the update removed (named in the mask, absent from the patch) */
  dropped: string[]
}

/**
 * Apply `patch` (a partial document with the TOML file's shape; keys as in the file) to the
 * leaves of one layer, at the paths of `mask` (empty: every leaf present in `patch`). A mask
 * path naming a table covers every leaf beneath it; a mask path absent from `patch` drops the
 * layer's value there. Unknown keys and mask paths are added to `issues` (nothing thrown).
 */
export function applyPatch (schema: z.ZodType, current: Map<string, unknown>, patch: unknown, mask: readonly string[], issues: ConfigIssue[]): PatchOutcome {
  if (!isPlainObject(patch)) {
    issues.push({ path: '', message: 'an update must be a table (a JSON object)', source: UPDATE_SOURCE })
    return { leaves: new Map(current), set: [], dropped: [] }
  }
  const given = docLeaves(normalize(patch, schema, [], UPDATE_SOURCE, issues, new Map()), schema)
  const set = new Map<string, unknown>()
  const dropped = new Set<string>()
  if (mask.length === 0) {
    for (const [p, v] of given) set.set(p, v)
  } else {
    for (const m of mask) {
      const resolved = resolvePath(schema, m)
      if (resolved === undefined) {
        issues.push({ path: m, message: 'no such setting', source: 'update mask' })
        continue
      }
      const p = resolved.path.join('.')
      const under = (k: string): boolean => k === p || k.startsWith(`${p}.`)
      let any = false
      for (const [k, v] of given) {
        if (under(k)) {
          set.set(k, v)
          any = true
        }
      }
      if (resolved.leaf && !any) dropped.add(p)
      if (!resolved.leaf) for (const k of current.keys()) if (under(k) && !given.has(k)) dropped.add(k)
    }
  }
  const leaves = new Map(current)
  for (const p of dropped) leaves.delete(p)
  for (const [p, v] of set) {
    // a value replaces whatever the layer held above or below the same path
    for (const k of [...leaves.keys()]) if (k.startsWith(`${p}.`) || p.startsWith(`${k}.`)) leaves.delete(k)
    leaves.set(p, v)
  }
  return { leaves, set: [...set.keys()].sort(), dropped: [...dropped].filter(p => !set.has(p)).sort() }
}

/**
 * Zod issues as {@link ConfigIssue}s, each `unrecognized_keys` issue split per key, with the
 * source `sourceOf` names for the path; values of secret settings are not echoed.
 */
export function schemaIssues (error: z.ZodError, sourceOf: (path: Array<string | number>) => string | undefined): ConfigIssue[] {
  const out: ConfigIssue[] = []
  for (const issue of error.issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol')
    const keys = issue.code === 'unrecognized_keys' ? issue.keys.map(k => [...path, k]) : [path]
    for (const p of keys) {
      const source = sourceOf(p)
      const dotted = formatPath(p)
      const message = issue.code === 'unrecognized_keys' ? 'unknown key' : isSecretPath(dotted) ? 'invalid value (not shown: secret)' : issue.message
      out.push({ path: dotted, message, ...(source === undefined ? {} : { source }) })
    }
  }
  return out
}

/**
 * Refuse an update that changes settings `isLive` rejects.
 * @throws RestartRequiredError naming every such path
 */
export function requireLive (paths: readonly string[], isLive: (path: string) => boolean): void {
  const restart = paths.filter(p => !isLive(p))
  if (restart.length > 0) throw new RestartRequiredError(restart)
}

export interface PatchDocumentOptions<S extends z.ZodType> {
  schema: S
  /** the document now (TOML shape); `{}` for none */
  current: Obj
  patch: unknown
  mask: readonly string[]
  /** whether a setting may change at run time; default: every setting */
  isLive?: (path: string) => boolean
}

/**
 * A standalone configuration document (such as a fleet's cluster document, which sits on the
 * schema defaults) after an update: `current` with `patch` applied at `mask` (see
 * {@link applyPatch}), validated whole by `schema`. Pure: nothing is stored. Values keep the
 * spelling they were given in ("10MB", "30s").
 *
 * @returns the new document
 * @throws ConfigError listing every unknown key, unknown mask path and invalid value at once
 * @throws RestartRequiredError naming every setting `isLive` refuses
 */
export function patchConfigDocument<S extends z.ZodType> (opts: PatchDocumentOptions<S>): Obj {
  const issues: ConfigIssue[] = []
  const current = docLeaves(normalize(opts.current, opts.schema, [], 'current', [], new Map()), opts.schema)
  const outcome = applyPatch(opts.schema, current, opts.patch, opts.mask, issues)
  const doc = leavesDoc(outcome.leaves)
  const result = opts.schema.safeParse(doc)
  if (!result.success) issues.push(...schemaIssues(result.error, p => touchedBy(outcome, p) ? UPDATE_SOURCE : undefined))
  if (issues.length > 0) throw new ConfigError(issues)
  if (opts.isLive !== undefined) requireLive([...outcome.set, ...outcome.dropped], opts.isLive)
  return doc
}

/** Whether the update set or dropped the setting at (or under, or above) `path`. */
export function touchedBy (outcome: PatchOutcome, path: Array<string | number>): boolean {
  const dotted = path.filter((p): p is string => typeof p === 'string').join('.')
  return [...outcome.set, ...outcome.dropped].some(p => p === dotted || p.startsWith(`${dotted}.`) || dotted.startsWith(`${p}.`))
}
