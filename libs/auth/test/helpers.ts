import { Writable } from 'node:stream'
import { pino, type Logger } from 'pino'

/** A logger whose JSON lines are kept in memory. */
export function memoryLogger (): { log: Logger, text: () => string } {
  const raw: string[] = []
  const stream = new Writable({ write (chunk, _enc, done) { raw.push(String(chunk)); done() } })
  return { log: pino({ level: 'info' }, stream), text: () => raw.join('') }
}

/** The value of `codio_auth_failures_total` with these labels in Prometheus text. */
export function failures (metrics: string, labels: Record<string, string>): number {
  let sum = 0
  for (const line of metrics.split('\n')) {
    if (!line.startsWith('codio_auth_failures_total{')) continue
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return sum
}
