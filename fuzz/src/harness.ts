import fc from 'fast-check'
import { types } from 'node:util'
import { corpusDir, crashDir, readInputs, storeInput, type StoredInput } from './corpus.js'

/** One fuzz target: a property over hostile input for one parser at a trust boundary. */
export interface Target {
  /** `area.parser`, e.g. `http.range-header` */
  name: string
  /** the property (fast-check `property` / `asyncProperty`), built once its fixtures are ready */
  property: () => fc.IRawProperty<any, boolean> | Promise<fc.IRawProperty<any, boolean>>
  /**
   * Hand-picked inputs (the property's arguments, as a tuple): valid messages and edge cases.
   * `npm run fuzz:seed` writes them to `corpus/<name>/seed-*.json`.
   */
  seeds?: () => Seed[] | Promise<Seed[]>
  /** Inputs that failed before runs kept their crashes: `npm run fuzz:seed` writes them to `crashes/<name>/`. */
  kept?: () => Seed[]
}

/** One hand-picked input of a target and why it is there. */
export interface Seed { note: string, input: unknown[] }

/**
 * What the current input did, as labels (`parse` adds `<what>:ok` or `<what>:<error>`, a target
 * may add its own with {@link note}): its behaviour's signature. `npm run fuzz` keeps in the
 * corpus the first input of every signature not seen before.
 */
const labels = new Set<string>()

/** Add `label` to the current input's signature. */
export function note (label: string): void {
  labels.add(label)
}

/** An error as a label: its name and message, numbers and long tokens (IDs, keys) blanked. */
export const errorLabel = (err: unknown): string => {
  const e = err as Error | undefined
  return `${e?.name ?? typeof err}:${String(e?.message ?? '').replace(/[A-Za-z0-9+/_=-]{20,}/g, '…').replace(/\d+/g, '#').slice(0, 80)}`
}

/** Longest one input may take (ms) before the target fails as a hang. */
export const SLOW_INPUT_MS = Number(process.env.FUZZ_SLOW_MS ?? 1000)

type ErrorClass = abstract new (...args: any[]) => Error

/** Throws unless `err` is one of `allowed`: the parser's documented, typed errors. */
export function assertTyped (err: unknown, allowed: readonly ErrorClass[], what: string): void {
  if (allowed.some(c => err instanceof c)) return
  // `Error` itself: any realm's (jest runs tests in a vm context; Node's internals throw the main one's)
  if (allowed.includes(Error) && types.isNativeError(err)) return
  const shown = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
  throw new Error(`${what} threw an undocumented error ${shown}`, { cause: err })
}

/** `fn()`, or `undefined` when it throws one of `allowed`; fails on any other throw or a hang. */
export function parse<T> (what: string, allowed: readonly ErrorClass[], fn: () => T): T | undefined {
  const started = performance.now()
  try {
    return parsed(what, fn())
  } catch (err) {
    return refused(what, allowed, err)
  } finally {
    inTime(what, started)
  }
}

/** {@link parse} for an async parser. */
export async function parseAsync<T> (what: string, allowed: readonly ErrorClass[], fn: () => Promise<T>): Promise<T | undefined> {
  const started = performance.now()
  try {
    return parsed(what, await fn())
  } catch (err) {
    return refused(what, allowed, err)
  } finally {
    inTime(what, started)
  }
}

/** An accepted input: noted as its own behaviour, passed on. */
function parsed<T> (what: string, r: T): T {
  note(`${what}:ok`)
  return r
}

/** A refused input: a documented error is noted by its kind, any other one fails the target. */
function refused (what: string, allowed: readonly ErrorClass[], err: unknown): undefined {
  assertTyped(err, allowed, what)
  note(`${what}:${errorLabel(err)}`)
  return undefined
}

/** Fails when one input took longer than SLOW_INPUT_MS (a hang, or a parse far too slow). */
function inTime (what: string, started: number): void {
  const ms = performance.now() - started
  if (ms > SLOW_INPUT_MS) throw new Error(`${what} took ${ms.toFixed(0)} ms on one input (limit ${SLOW_INPUT_MS} ms)`)
}

/** Throws `message` unless `cond`. */
export function check (cond: boolean, message: string): void {
  if (!cond) throw new Error(message)
}

/** Arbitrary bytes, and `valid` with a few bytes flipped, inserted, removed or truncated. */
export function mutated (valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  const edit = fc.oneof(
    fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ op: fc.constant('insert' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('truncate' as const), at: fc.nat() })
  )
  return fc.array(edit, { minLength: 0, maxLength: 4 }).map(edits => {
    let b = Array.from(valid)
    for (const e of edits) {
      const at = b.length === 0 ? 0 : e.at % b.length
      if (e.op === 'flip' && b.length > 0) b[at] ^= 1 << e.bit
      else if (e.op === 'set' && b.length > 0) b[at] = e.value
      else if (e.op === 'insert') b.splice(at, 0, e.value)
      else if (e.op === 'delete') b.splice(at, 1)
      else if (e.op === 'truncate') b = b.slice(0, at)
    }
    return Uint8Array.from(b)
  })
}

/** Arbitrary bytes, up to `max` long. */
export const anyBytes = (max = 512): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength: max })

export const equalBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((v, i) => v === b[i])

/** How many inputs per target: `FUZZ_RUNS`, default `fallback`. */
export function fuzzRuns (fallback = 2000): number {
  const n = Number(process.env.FUZZ_RUNS ?? fallback)
  return Number.isSafeInteger(n) && n > 0 ? n : fallback
}

/** fast-check parameters: `FUZZ_SEED` (and `FUZZ_PATH`) replay a reported failure. */
export function fuzzParameters (numRuns: number): fc.Parameters<unknown> {
  const seed = process.env.FUZZ_SEED == null ? undefined : Number(process.env.FUZZ_SEED)
  const path = process.env.FUZZ_PATH
  return { numRuns, ...(seed == null ? {} : { seed }), ...(path == null ? {} : { path }) }
}

type Property = fc.IRawProperty<any, boolean>

/** The signature of what the current input did (see {@link note}); clears it. */
function takeSignature (): string {
  const sig = [...labels].sort().join('|')
  labels.clear()
  return sig
}

/** `property`, calling `seen(value, signature)` after each input it passes. */
function observed (property: Property, seen: (value: unknown, signature: string) => void): Property {
  const after = (v: unknown, r: unknown): unknown => {
    const sig = takeSignature()
    if (r == null) seen(v, sig)
    return r
  }
  return {
    isAsync: () => property.isAsync(),
    generate: (mrng, runId) => property.generate(mrng, runId),
    shrink: (value) => property.shrink(value),
    run: (v: any) => {
      labels.clear()
      const r: any = property.run(v)
      return (property.isAsync() ? Promise.resolve(r).then(res => after(v, res)) : after(v, r)) as any
    },
    runBeforeEach: () => property.runBeforeEach(),
    runAfterEach: () => property.runAfterEach()
  } as Property
}

/**
 * Run one stored input through `property`; throws naming `file` if it fails.
 * @returns the input's signature
 */
export async function replay (property: Property, stored: StoredInput): Promise<string> {
  labels.clear()
  const r = await property.run(stored.input as any)
  const sig = takeSignature()
  if (r == null) return sig
  const failure = r as { error?: unknown }
  const cause = failure.error instanceof Error ? failure.error.message : String(failure.error ?? 'precondition failed')
  throw new Error(`${stored.file} fails${stored.note === undefined ? '' : ` (${stored.note})`}: ${cause}`, { cause: failure.error })
}

export interface RunOptions {
  /** keep the first input of each new signature in `corpus/<target>/` (default false) */
  growCorpus?: boolean
  /** at most this many inputs added to the corpus per run (default 25) */
  maxNew?: number
}

export interface RunResult {
  runs: number
  ms: number
  perSecond: number
  /** stored inputs replayed first (corpus and crashes) */
  replayed: number
  /** inputs added to the corpus */
  added: string[]
}

/**
 * Run `target`: first every stored input (its corpus and kept crashes), then `numRuns`
 * generated ones. A failing generated input is shrunk and saved in `crashes/<target>/` (the
 * error names the file, and fast-check's seed and path: `FUZZ_SEED=… FUZZ_PATH=…` replays it).
 */
export async function runTarget (target: Target, numRuns: number, options: RunOptions = {}): Promise<RunResult> {
  const started = performance.now()
  const property = await target.property() as Property
  const stored = [...readInputs(corpusDir(target.name)), ...readInputs(crashDir(target.name))]
  const known = new Set<string>()
  for (const s of stored) known.add(await replay(property, s))
  const added: string[] = []
  const maxNew = options.maxNew ?? 25
  const watched = options.growCorpus === true
    ? observed(property, (value, sig) => {
      if (known.has(sig) || added.length >= maxNew) return
      known.add(sig)
      added.push(storeInput(corpusDir(target.name), 'found', value, `new behaviour: ${sig.slice(0, 300)}`))
    })
    : property
  const details = await fc.check(watched as any, fuzzParameters(numRuns))
  if (details.failed) {
    const file = details.counterexample == null
      ? undefined
      : storeInput(crashDir(target.name), 'crash', details.counterexample, `found by seed ${details.seed}, path ${details.counterexamplePath ?? ''}: ${String((details.errorInstance as Error | undefined)?.message ?? details.errorInstance).slice(0, 300)}`)
    const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)
    throw new Error(`${target.name} failed after ${details.numRuns} inputs (FUZZ_SEED=${details.seed} FUZZ_PATH=${details.counterexamplePath ?? ''}); ` +
      `the input is kept in ${file ?? '(none)'}: ${cause}`, { cause: details.errorInstance })
  }
  const ms = performance.now() - started
  return { runs: numRuns, ms, perSecond: numRuns / (ms / 1000), replayed: stored.length, added }
}
