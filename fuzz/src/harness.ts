import fc from 'fast-check'
import { types } from 'node:util'

/** One fuzz target: a property over hostile input for one parser at a trust boundary. */
export interface Target {
  /** `area.parser`, e.g. `http.range-header` */
  name: string
  /** the property (fast-check `property` / `asyncProperty`), built once its fixtures are ready */
  property: () => fc.IRawProperty<any, boolean> | Promise<fc.IRawProperty<any, boolean>>
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
    return fn()
  } catch (err) {
    assertTyped(err, allowed, what)
    return undefined
  } finally {
    const ms = performance.now() - started
    if (ms > SLOW_INPUT_MS) throw new Error(`${what} took ${ms.toFixed(0)} ms on one input (limit ${SLOW_INPUT_MS} ms)`)
  }
}

/** {@link parse} for an async parser. */
export async function parseAsync<T> (what: string, allowed: readonly ErrorClass[], fn: () => Promise<T>): Promise<T | undefined> {
  const started = performance.now()
  try {
    return await fn()
  } catch (err) {
    assertTyped(err, allowed, what)
    return undefined
  } finally {
    const ms = performance.now() - started
    if (ms > SLOW_INPUT_MS) throw new Error(`${what} took ${ms.toFixed(0)} ms on one input (limit ${SLOW_INPUT_MS} ms)`)
  }
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

/**
 * Run `target` for `numRuns` inputs. On failure fast-check's error names the seed and path
 * (`FUZZ_SEED=… FUZZ_PATH=…` replays it) and the shrunk counterexample.
 */
export async function runTarget (target: Target, numRuns: number): Promise<{ runs: number, ms: number, perSecond: number }> {
  const started = performance.now()
  const property = await target.property()
  await fc.assert(property as any, fuzzParameters(numRuns))
  const ms = performance.now() - started
  return { runs: numRuns, ms, perSecond: numRuns / (ms / 1000) }
}
