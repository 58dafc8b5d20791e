import { mkdirSync, readFileSync } from 'node:fs'
import { rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { z } from 'zod'
import { ConfigError, type ConfigIssue } from './errors.js'
import { docLeaves, getPath, hasPath, leavesDoc, sameValue, schemaLeaves } from './leaves.js'
import { isPlainObject, loadConfig, normalize, readEnv, readToml, type Obj } from './load-config.js'
import { applyPatch, requireLive, schemaIssues, touchedBy, UPDATE_SOURCE } from './patch.js'
import { isSecretPath, REDACTED } from './redact.js'

/** The configuration layers, lowest first; a higher layer's value wins. */
export const LAYERS = ['default', 'file', 'env', 'cluster', 'runtime'] as const
export type LayerName = typeof LAYERS[number]

/** A JSON value, as GetConfig shows the configuration. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** The effective configuration for display: secrets redacted, each leaf's source. */
export interface LayeredConfigView {
  /** the parsed configuration (units resolved: bytes, milliseconds), secrets as "[redacted]" */
  config: { [key: string]: Json }
  /** one entry per leaf setting of the schema, sorted by path */
  sources: Array<{ path: string, source: LayerName, live: boolean, redacted: boolean }>
}

/** The logging this class does (pino's signature). */
export interface LayeredConfigLog {
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
}

export interface LayeredConfigOptions<S extends z.ZodType> {
  schema: S
  /** the TOML file (see loadConfig) */
  file?: string
  /** default `process.env` */
  env?: Record<string, string | undefined>
  /** default "CODIO_" */
  envPrefix?: string
  /**
   * Where runtime changes persist (JSON), given as a path or computed from the configuration
   * of the layers below (e.g. `c => join(c.dataDir, 'runtime-config.json')`). Unset: runtime
   * changes last until the process ends.
   */
  runtimeFile?: string | ((base: z.infer<S>) => string)
  /** whether a setting (TOML path) can change without a restart; default: none can */
  isLive?: (path: string) => boolean
  /**
   * Array settings whose layers add up (the union, in layer order) instead of the highest
   * replacing the rest, e.g. trusted publisher keys: a runtime TrustKey adds to the file's.
   */
  accumulate?: readonly string[]
  /** whether a setting holds a secret; default {@link isSecretPath} */
  isSecret?: (path: string) => boolean
  /** default: kept until {@link LayeredConfig.setLog} names one (the level may come from this config) */
  log?: LayeredConfigLog
}

/** One persisted runtime value and the file's value for the same path when it was set. */
interface RuntimeEntry {
  value: unknown
  /** the file's value at that time; absent when the file did not set it */
  file?: unknown
}

interface RuntimeFileV1 {
  version: 1
  settings: Record<string, RuntimeEntry>
}

/** A listener's view of a change: the new configuration and the leaf paths whose value changed. */
export type ConfigListener<T> = (config: T, changed: string[]) => void | Promise<void>


/**
 * A process's configuration in layers, lowest to highest: `default` (the schema's defaults),
 * `file` (TOML), `env` (`CODIO_*`), `cluster` (a fleet-wide document, {@link setClusterLayer})
 * and `runtime` (this node's {@link update}s). The effective configuration is the schema's
 * parse of the layers merged (deep merge; an array replaces the ones below, except the
 * `accumulate` paths, whose arrays add up), and every leaf setting knows the highest layer
 * that set it.
 *
 * Runtime values persist in `runtimeFile` (written atomically: temporary file + rename) and
 * are reloaded at start "until the file changes them": with each runtime value the file's
 * value for that path at the time is kept, and at a later start a file whose value differs
 * wins — the runtime value is dropped and logged.
 *
 * Secrets: the value of every leaf `isSecret` names (by default {@link isSecretPath}: inline
 * passwords, tokens, secrets and keys, never file paths) reads as "[redacted]" in views and
 * issue messages.
 *
 * @example
 * ```ts
 * const config = LayeredConfig.load({ schema, file: argv.config, runtimeFile: c => join(c.dataDir, 'runtime-config.json'), isLive: p => p.startsWith('swarm.') })
 * config.onChange((c, changed) => node.reconfigure(c))
 * await config.update({ swarm: { maxUploadRate: '10MB' } }, [])
 * ```
 */
export class LayeredConfig<S extends z.ZodType> {
  private readonly schema: S
  private readonly layers: Record<Exclude<LayerName, 'default'>, Obj>
  private runtime = new Map<string, RuntimeEntry>()
  private effective: z.infer<S>
  private readonly runtimePath?: string
  private readonly isLive: (path: string) => boolean
  private readonly isSecret: (path: string) => boolean
  private readonly accumulate: Set<string>
  private log: LayeredConfigLog
  /** lines logged before {@link setLog}, without a log given */
  private held?: Array<['info' | 'warn', object, string]>
  private readonly listeners = new Set<ConfigListener<z.infer<S>>>()
  private readonly leafPaths: string[]
  /** updates run one at a time, each against the state the previous one left */
  private queue: Promise<unknown> = Promise.resolve()

  private constructor (opts: LayeredConfigOptions<S>, file: Obj, env: Obj, base: z.infer<S>) {
    this.schema = opts.schema
    this.layers = { file, env, cluster: {}, runtime: {} }
    this.isLive = opts.isLive ?? (() => false)
    this.isSecret = opts.isSecret ?? isSecretPath
    this.accumulate = new Set(opts.accumulate ?? [])
    if (opts.log !== undefined) this.log = opts.log
    else {
      const held: Array<['info' | 'warn', object, string]> = this.held = []
      // bounded: a config nobody gives a log to must not grow without end
      const hold = (level: 'info' | 'warn', o: object, m: string): void => { if (held.length < 100) held.push([level, o, m]) }
      this.log = { info: (o, m) => { hold('info', o, m) }, warn: (o, m) => { hold('warn', o, m) } }
    }
    this.leafPaths = schemaLeaves(opts.schema)
    this.effective = base
    this.runtimePath = typeof opts.runtimeFile === 'function' ? opts.runtimeFile(base) : opts.runtimeFile
  }

  /**
   * Read the file and the environment (exactly as {@link loadConfig} does), then the runtime
   * file. Runtime values the file has changed since, that no longer parse or that are no
   * longer live are dropped with a log line (and the runtime file rewritten without them); an
   * unreadable runtime file is logged and ignored.
   *
   * @throws ConfigError listing every problem of the file and the environment
   */
  static load<S extends z.ZodType> (opts: LayeredConfigOptions<S>): LayeredConfig<S> {
    const base = loadConfig({ schema: opts.schema, file: opts.file, env: opts.env, envPrefix: opts.envPrefix })
    const ignored: ConfigIssue[] = []
    const raw = opts.file === undefined ? undefined : readToml(opts.file, ignored)
    const file = raw === undefined ? {} : normalize(raw, opts.schema, [], opts.file ?? '', ignored, new Map()) as Obj
    const env = readEnv(opts.env ?? process.env, opts.envPrefix ?? 'CODIO_', opts.schema, ignored, new Map())
    const config = new LayeredConfig(opts, file, env, base)
    config.loadRuntime()
    return config
  }

  /**
   * Log to `log` from now on, first writing what was logged before (at load: runtime values
   * dropped) when no log was given to {@link load}.
   */
  setLog (log: LayeredConfigLog): void {
    this.log = log
    const held = this.held ?? []
    this.held = undefined
    for (const [level, obj, msg] of held) log[level](obj, msg)
  }

  /** The effective configuration (a parsed, frozen-by-convention object: do not mutate). */
  get current (): z.infer<S> {
    return this.effective
  }

  /** A layer's document as given (schema keys, values as spelled: "10MB"), for inspection. */
  layer (name: Exclude<LayerName, 'default'>): Obj {
    return structuredClone(this.layers[name])
  }

  /** Whether `path` can change without a restart. */
  live (path: string): boolean {
    return this.isLive(path)
  }

  /** The highest layer that set the leaf at `path` (dotted), `default` when none did. */
  sourceOf (path: string): LayerName {
    const keys = path.split('.')
    for (const name of ['runtime', 'cluster', 'env', 'file'] as const) {
      for (let n = keys.length; n > 0; n--) {
        if (hasPath(this.layers[name], keys.slice(0, n)) && (n === keys.length || !isPlainObject(getPath(this.layers[name], keys.slice(0, n))))) return name
      }
    }
    return 'default'
  }

  /** The effective configuration as JSON with secrets redacted, and each leaf's source. */
  view (): LayeredConfigView {
    const config = JSON.parse(JSON.stringify(this.effective ?? {})) as { [key: string]: Json }
    const sources = this.leafPaths.map(path => {
      const redacted = this.isSecret(path)
      if (redacted) redactAt(config, path.split('.'))
      return { path, source: this.sourceOf(path), live: this.isLive(path), redacted }
    })
    return { config, sources }
  }

  /** Call `listener` after every change of the effective configuration. @returns unsubscribe */
  onChange (listener: ConfigListener<z.infer<S>>): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /**
   * Change runtime values: `patch` is a partial document with the TOML file's shape and the
   * file's spellings ("10MB", "30s"); `mask` the TOML paths to change ("swarm.maxUploadRate";
   * a table path covers its leaves), empty for every leaf present in `patch`. A mask path
   * absent from `patch` drops its runtime value (the layers below apply again). All or
   * nothing: validated by the schema over every layer, persisted, then applied and announced
   * to the {@link onChange} listeners (awaited; their errors are logged, not thrown).
   *
   * @returns the leaf paths whose effective value changed, and the new view's configuration
   * @throws ConfigError listing every unknown key, unknown mask path and invalid value (and,
   *   when there is any, the settings that need a restart too)
   * @throws RestartRequiredError naming every setting the update touches that `isLive` refuses,
   *   when nothing else is wrong
   */
  async update (patch: unknown, mask: readonly string[] = []): Promise<{ changed: string[], config: LayeredConfigView['config'] }> {
    return await this.updateFrom(() => ({ patch, mask }))
  }

  /**
   * {@link update} with a patch built from the runtime layer as it stands when the update
   * runs (updates run one at a time), for read-modify-write changes such as adding a key to a
   * runtime list: `build` gets a copy of the runtime layer's document.
   */
  async updateFrom (build: (runtime: Obj) => { patch: unknown, mask: readonly string[] }): Promise<{ changed: string[], config: LayeredConfigView['config'] }> {
    return await this.serialize(async () => {
      const { patch, mask } = build(structuredClone(this.layers.runtime))
      const issues: ConfigIssue[] = []
      const current = new Map([...this.runtime].map(([p, e]) => [p, e.value]))
      const outcome = applyPatch(this.schema, current, patch, mask, issues)
      const runtimeDoc = leavesDoc(outcome.leaves)
      const result = this.schema.safeParse(this.merged({ ...this.layers, runtime: runtimeDoc }))
      if (!result.success) issues.push(...schemaIssues(result.error, p => touchedBy(outcome, p) ? UPDATE_SOURCE : this.sourceOf(p.filter(k => typeof k === 'string').join('.'))))
      if (issues.length > 0) {
        // every bad key at once: the ones that need a restart too
        for (const p of [...outcome.set, ...outcome.dropped].filter(p => !this.isLive(p))) issues.push({ path: p, message: 'needs a restart: set it in the file or the environment', source: UPDATE_SOURCE })
        throw new ConfigError(issues)
      }
      requireLive([...outcome.set, ...outcome.dropped], this.isLive)

      const runtime = new Map<string, RuntimeEntry>()
      for (const [p, value] of outcome.leaves) {
        const prev = this.runtime.get(p)
        // the file's value is remembered as it was when the runtime value was (last) set
        runtime.set(p, outcome.set.includes(p) || prev === undefined ? this.entry(p, value) : prev)
      }
      await this.persist(runtime)
      return await this.commit(() => {
        this.runtime = runtime
        this.layers.runtime = runtimeDoc
      }, result.data as z.infer<S>)
    })
  }

  /**
   * Replace the cluster layer with `doc` (the role's fleet-wide document; `undefined` or `{}`
   * clears it). Settings that cannot change live are left out (logged); a document that does
   * not validate is logged and the previous cluster layer kept.
   *
   * @returns whether the document was applied, and the leaf paths whose effective value changed
   */
  async setClusterLayer (doc: unknown): Promise<{ applied: boolean, changed: string[] }> {
    return await this.serialize(async () => {
      const issues: ConfigIssue[] = []
      if (doc !== undefined && doc !== null && !isPlainObject(doc)) issues.push({ path: '', message: 'a cluster document must be a table', source: 'cluster' })
      const leaves = docLeaves(isPlainObject(doc) ? normalize(doc, this.schema, [], 'cluster', issues, new Map()) : {}, this.schema)
      const restart = [...leaves.keys()].filter(p => !this.isLive(p))
      if (restart.length > 0) this.log.warn({ keys: restart }, 'cluster configuration: settings that need a restart are ignored')
      for (const p of restart) leaves.delete(p)
      const cluster = leavesDoc(leaves)
      const result = this.schema.safeParse(this.merged({ ...this.layers, cluster }))
      if (!result.success) issues.push(...schemaIssues(result.error, () => 'cluster'))
      if (issues.length > 0) {
        this.log.warn({ issues: issues.map(i => `${i.path}: ${i.message}`) }, 'cluster configuration refused, keeping the previous one')
        return { applied: false, changed: [] }
      }
      const changed = await this.commit(() => { this.layers.cluster = cluster }, result.data as z.infer<S>)
      return { applied: true, changed: changed.changed }
    })
  }

  private async serialize<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn)
    this.queue = run.catch(() => {})
    return await run
  }

  /** Swap in the new state, then tell the listeners what changed. */
  private async commit (apply: () => void, next: z.infer<S>): Promise<{ changed: string[], config: LayeredConfigView['config'] }> {
    const before = docLeaves(this.effective, this.schema)
    apply()
    this.effective = next
    const after = docLeaves(next, this.schema)
    const changed = [...new Set([...before.keys(), ...after.keys()])].filter(p => !sameValue(before.get(p), after.get(p))).sort()
    if (changed.length > 0) {
      for (const listener of this.listeners) {
        try {
          await listener(next, changed)
        } catch (err) {
          this.log.warn({ err: (err as Error).message, changed }, 'applying a configuration change failed')
        }
      }
    }
    return { changed, config: this.view().config }
  }

  private entry (path: string, value: unknown): RuntimeEntry {
    const keys = path.split('.')
    return hasPath(this.layers.file, keys) ? { value, file: getPath(this.layers.file, keys) } : { value }
  }

  /** The layers' documents merged, lowest first. */
  private merged (layers: Record<Exclude<LayerName, 'default'>, Obj>): Obj {
    let out: Obj = {}
    for (const name of ['file', 'env', 'cluster', 'runtime'] as const) out = this.mergeInto(out, layers[name], [])
    return out
  }

  private mergeInto (base: Obj, top: Obj, path: string[]): Obj {
    const out: Obj = { ...base }
    for (const [k, v] of Object.entries(top)) {
      const p = [...path, k]
      const dotted = p.join('.')
      if (isPlainObject(out[k]) && isPlainObject(v)) out[k] = this.mergeInto(out[k] as Obj, v, p)
      else if (this.accumulate.has(dotted) && Array.isArray(out[k]) && Array.isArray(v)) out[k] = [...new Set([...(out[k] as unknown[]), ...v])]
      else out[k] = v
    }
    return out
  }

  private loadRuntime (): void {
    if (this.runtimePath === undefined) return
    let text: string
    try {
      text = readFileSync(this.runtimePath, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn({ file: this.runtimePath, err: (err as Error).message }, 'cannot read the runtime configuration, ignoring it')
      return
    }
    let stored: RuntimeFileV1
    try {
      stored = JSON.parse(text) as RuntimeFileV1
      if (stored?.version !== 1 || !isPlainObject(stored.settings)) throw new Error('not a version 1 runtime configuration')
    } catch (err) {
      this.log.warn({ file: this.runtimePath, err: (err as Error).message }, 'cannot parse the runtime configuration, ignoring it')
      return
    }
    const runtime = new Map<string, RuntimeEntry>()
    let dropped = false
    for (const [path, entry] of Object.entries(stored.settings)) {
      if (!isPlainObject(entry) || !Object.hasOwn(entry, 'value')) { dropped = true; continue }
      const keys = path.split('.')
      const fileNow = getPath(this.layers.file, keys)
      const fileHad = Object.hasOwn(entry, 'file')
      if (hasPath(this.layers.file, keys) !== fileHad || (fileHad && !sameValue(fileNow, entry.file))) {
        this.log.info({ path, file: this.shown(path, fileNow), runtime: this.shown(path, entry.value) }, 'the config file changed this setting since its runtime update: the file wins, runtime value dropped')
        dropped = true
        continue
      }
      if (!this.isLive(path) || !this.leafPaths.includes(path)) {
        this.log.warn({ path }, 'runtime value for a setting that cannot change live: dropped')
        dropped = true
        continue
      }
      runtime.set(path, { value: entry.value, ...(fileHad ? { file: entry.file } : {}) })
    }
    // values the schema no longer accepts are dropped one by one until the rest parse
    for (let i = 0; i <= runtime.size; i++) {
      const doc = leavesDoc(new Map([...runtime].map(([p, e]) => [p, e.value])))
      const result = this.schema.safeParse(this.merged({ ...this.layers, runtime: doc }))
      if (result.success) {
        this.runtime = runtime
        this.layers.runtime = doc
        this.effective = result.data as z.infer<S>
        break
      }
      const bad = [...runtime.keys()].filter(p => result.error.issues.some(iss => touches(p, iss.path)))
      if (bad.length === 0) break
      for (const p of bad) {
        this.log.warn({ path: p }, 'runtime value no longer valid: dropped')
        runtime.delete(p)
      }
      dropped = true
    }
    if (dropped) void this.persist(this.runtime).catch(err => this.log.warn({ err: (err as Error).message }, 'cannot rewrite the runtime configuration'))
  }

  /** Write the runtime layer atomically (a crash leaves the old file or the new one). */
  private async persist (runtime: Map<string, RuntimeEntry>): Promise<void> {
    if (this.runtimePath === undefined) return
    const body: RuntimeFileV1 = { version: 1, settings: Object.fromEntries([...runtime].sort(([a], [b]) => a < b ? -1 : 1)) }
    mkdirSync(dirname(this.runtimePath), { recursive: true })
    const tmp = `${this.runtimePath}.${process.pid}.tmp`
    await writeFile(tmp, JSON.stringify(body, null, 2) + '\n', { mode: 0o600, flush: true })
    await rename(tmp, this.runtimePath)
  }

  private shown (path: string, value: unknown): unknown {
    return this.isSecret(path) ? REDACTED : value
  }
}

function touches (dotted: string, path: ReadonlyArray<PropertyKey>): boolean {
  const p = path.filter((k): k is string => typeof k === 'string').join('.')
  return p === dotted || p.startsWith(`${dotted}.`) || dotted.startsWith(`${p}.`)
}

function redactAt (doc: Obj, keys: string[]): void {
  let o: unknown = doc
  for (const k of keys.slice(0, -1)) {
    if (!isPlainObject(o)) return
    o = o[k]
  }
  const last = keys[keys.length - 1]
  if (isPlainObject(o) && Object.hasOwn(o, last) && o[last] !== undefined && o[last] !== '') o[last] = REDACTED
}
