/** Decimal byte count for people: `12.58 MB`. */
export function formatBytes (n: number): string {
  if (n < 1000) return `${n} B`
  const units = ['kB', 'MB', 'GB', 'TB']
  let v = n
  let i = -1
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++ }
  return `${v.toFixed(2)} ${units[i]}`
}

/** Megabytes (10^6) per second, two decimals. */
export function formatRate (bytes: number, seconds: number): string {
  return `${(seconds > 0 ? bytes / 1e6 / seconds : 0).toFixed(2)} MB/s`
}

/** Seconds as `1m05s` / `7s`. */
export function formatDuration (seconds: number): string {
  if (!Number.isFinite(seconds)) return '?'
  const s = Math.max(0, Math.round(seconds))
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`
}

/**
 * Parse a byte size: a positive integer, optionally with a binary suffix
 * (`k`, `m`, `g`, case-insensitive, optional `iB`/`B`), e.g. `262144`, `256k`, `1MiB`.
 * Returns `undefined` for anything else.
 */
export function parseSize (text: string): number | undefined {
  const m = /^\s*(\d+)\s*(?:([kmg])(?:i?b)?|b)?\s*$/i.exec(text)
  if (m == null) return undefined
  const mult = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? '').toLowerCase() as 'k' | 'm' | 'g'] ?? 1
  const n = Number(m[1]) * mult
  return Number.isSafeInteger(n) && n > 0 ? n : undefined
}
