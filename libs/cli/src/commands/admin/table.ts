import Table from 'cli-table3'
import { formatBytes, formatDuration } from '../../format.js'

type Cell = string | number | bigint | boolean

/**
 * A borderless, uncoloured table (columns two spaces apart, header row in capitals), as
 * kubectl prints: readable in a terminal and easy to cut with awk.
 */
export function table (head: string[], rows: Cell[][]): string {
  const t = new Table({
    head: head.map(h => h.toUpperCase()),
    chars: {
      top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
      left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  '
    },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 }
  })
  t.push(...rows.map(r => r.map(c => String(c))))
  return t.toString().split('\n').map(l => l.trimEnd()).join('\n')
}

/** Two columns, field and value, without a header: one record. An empty field continues the one above. */
export function record (rows: Array<[string, Cell]>): string {
  const width = Math.max(...rows.map(([k]) => k.length))
  return rows.map(([k, v]) => `${(k === '' ? '' : `${k}:`).padEnd(width + 2)}${String(v)}`).join('\n')
}

export const bytes = (n: bigint | number): string => formatBytes(Number(n))

/** Bytes per second as `1.25 MB/s`. */
export const rate = (bytesPerSecond: number): string => `${formatBytes(Math.round(bytesPerSecond))}/s`

/** Unix ms as an ISO time to the second (UTC); 0 as `-`. */
export function time (ms: bigint | number): string {
  const n = Number(ms)
  return n === 0 ? '-' : new Date(n).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** Unix ms as `in 59m58s` / `-` (never). */
export function expires (ms: bigint | number, now = Date.now()): string {
  const n = Number(ms)
  return n === 0 ? 'never' : n <= now ? 'expired' : `in ${formatDuration((n - now) / 1000)}`
}
