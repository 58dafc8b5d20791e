import cliProgress from 'cli-progress'
import { formatBytes, formatDuration, formatRate } from './format.js'
import type { Writable } from 'node:stream'

export interface ProgressInit {
  /** Word in front of every line, e.g. `publish`. */
  label: string
  /** Expected bytes; unknown (no Content-Length) draws no bar, only lines. */
  total?: number
  /** Draw nothing at all. */
  quiet?: boolean
  /** Where progress goes; `process.stderr` unless a test hands in another. */
  stream?: Writable
  /** Minimum time between plain progress lines when `stream` is not a TTY. Default 2000 ms. */
  lineIntervalMs?: number
}

export interface Progress {
  /** Report the running byte count (absolute, not a delta). */
  update: (bytes: number) => void
  /** Stop drawing and print the summary line: bytes, seconds, MB/s. */
  done: () => void
  /** Stop drawing without a summary (the caller prints the error). */
  fail: () => void
}

/**
 * A progress display for one transfer on stderr: a cli-progress bar when the
 * stream is a TTY, otherwise one short line at most every `lineIntervalMs`,
 * so logs of piped runs stay readable.
 */
export function createProgress (init: ProgressInit): Progress {
  const stream = init.stream ?? process.stderr
  const total = init.total != null && init.total > 0 ? init.total : undefined
  const started = performance.now()
  const interval = init.lineIntervalMs ?? 2000
  let bytes = 0
  let lastLine = started
  let stopped = false

  if (init.quiet === true) {
    return { update () {}, done () {}, fail () {} }
  }

  const elapsed = (): number => (performance.now() - started) / 1000
  const isTTY = (stream as { isTTY?: boolean }).isTTY === true
  let bar: cliProgress.SingleBar | undefined
  if (isTTY && total != null) {
    bar = new cliProgress.SingleBar({
      stream: stream as NodeJS.WriteStream,
      format: `${init.label} [{bar}] {percentage}% | {sent}/{size} | {speed} | ETA {eta_formatted}`,
      hideCursor: true,
      etaBuffer: 50,
      fps: 10,
      barsize: 30
    }, cliProgress.Presets.shades_classic)
    bar.start(total, 0, { sent: formatBytes(0), size: formatBytes(total), speed: formatRate(0, 0) })
  }

  const stop = (): boolean => {
    if (stopped) return false
    stopped = true
    if (bar != null) {
      bar.update(bytes, { sent: formatBytes(bytes), speed: formatRate(bytes, elapsed()) })
      bar.stop()
    }
    return true
  }

  return {
    update (n) {
      if (stopped) return
      bytes = n
      const now = performance.now()
      if (bar != null) {
        bar.update(n, { sent: formatBytes(n), speed: formatRate(n, elapsed()) })
        return
      }
      if (now - lastLine < interval) return
      lastLine = now
      const secs = elapsed()
      let line = `${init.label}: ${formatBytes(n)}`
      if (total != null) {
        const rate = n / secs
        line += ` / ${formatBytes(total)} (${Math.floor(n / total * 100)}%)`
        line += ` ${formatRate(n, secs)} ETA ${formatDuration(rate > 0 ? (total - n) / rate : Infinity)}`
      } else {
        line += ` ${formatRate(n, secs)}`
      }
      stream.write(line + '\n')
    },
    done () {
      if (!stop()) return
      const secs = elapsed()
      stream.write(`${init.label}: ${formatBytes(bytes)} in ${secs.toFixed(2)} s (${formatRate(bytes, secs)})\n`)
    },
    fail () {
      stop()
    }
  }
}
