import { z } from 'zod'

const BYTE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, pb: 1e15,
  kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40, pib: 2 ** 50
}
const BYTE_SIZE = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i

/**
 * Parses a byte size: a non-negative integer number of bytes, or a string such as "512KiB",
 * "64MiB", "1GiB" (IEC, 1024-based), "10MB", "1.5GB" (SI, 1000-based) or "100B"; units are
 * case-insensitive. A bare numeric string ("1024") is bytes.
 *
 * @returns bytes, a safe non-negative integer
 * @throws RangeError with a message naming the accepted forms
 */
export function parseByteSize (v: unknown): number {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v) && v >= 0) return v
    throw new RangeError(`expected a non-negative whole number of bytes, got ${v}`)
  }
  if (typeof v !== 'string') throw new RangeError(`expected a byte size like "64MiB" or a number of bytes, got ${typeName(v)}`)
  const m = BYTE_SIZE.exec(v)
  const unit = m?.[2].toLowerCase() ?? ''
  const mult = unit === '' ? 1 : BYTE_UNITS[unit]
  if (m === null || mult === undefined) {
    throw new RangeError(`invalid byte size ${JSON.stringify(v)}: expected a number with a unit B, KB, MB, GB, TB, KiB, MiB, GiB or TiB, e.g. "64MiB"`)
  }
  const exact = Number(m[1]) * mult
  const bytes = Math.round(exact)
  // tolerate float noise such as 1.1 * 1000 = 1100.0000000000002, not fractional bytes
  if (Math.abs(exact - bytes) > 1e-6 * Math.max(1, exact)) throw new RangeError(`invalid byte size ${JSON.stringify(v)}: not a whole number of bytes`)
  if (!Number.isSafeInteger(bytes)) throw new RangeError(`invalid byte size ${JSON.stringify(v)}: too large`)
  return bytes
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g

/**
 * Parses a duration: a non-negative number of milliseconds, or a string of one or more
 * number+unit parts, units ms, s, m, h, d ("500ms", "10s", "5m", "24h", "1h30m"), in the
 * manner of Go's time.ParseDuration.
 *
 * @returns milliseconds (finite, ≥ 0)
 * @throws RangeError with a message naming the accepted forms
 */
export function parseDuration (v: unknown): number {
  if (typeof v === 'number') {
    if (Number.isFinite(v) && v >= 0) return v
    throw new RangeError(`expected a non-negative number of milliseconds, got ${v}`)
  }
  if (typeof v !== 'string') throw new RangeError(`expected a duration like "10s" or a number of milliseconds, got ${typeName(v)}`)
  const s = v.trim()
  if (!DURATION.test(s)) {
    throw new RangeError(`invalid duration ${JSON.stringify(v)}: expected a number with a unit ms, s, m, h or d, e.g. "500ms", "10s", "1h30m"`)
  }
  let ms = 0
  for (const [, n, unit] of s.matchAll(DURATION_PART)) ms += Number(n) * DURATION_UNITS[unit]
  return ms
}

function typeName (v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v
}

function fromParser (parse: (v: unknown) => number): z.ZodType<number> {
  return z.unknown().transform((v, ctx) => {
    try {
      return parse(v)
    } catch (err) {
      ctx.issues.push({ code: 'custom', message: (err as Error).message, input: v })
      return z.NEVER
    }
  })
}

/**
 * Zod schema for a byte size (see {@link parseByteSize}): `64MiB` → 67108864.
 *
 * Zod 4 returns `.default()` values without parsing them, so give a default in bytes
 * (`byteSize.default(64 * 2 ** 20)`) or use `.prefault('64MiB')`.
 */
export const byteSize: z.ZodType<number> = fromParser(parseByteSize)

/**
 * Zod schema for a duration in milliseconds (see {@link parseDuration}): `"10s"` → 10000.
 * As for {@link byteSize}, use `.prefault('10s')` or a default in milliseconds.
 */
export const duration: z.ZodType<number> = fromParser(parseDuration)
