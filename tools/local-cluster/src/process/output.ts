import { readFileSync } from 'node:fs'
import type { Readable } from 'node:stream'

/** Lines of a process's output an error message carries. */
export const TAIL_LINES = 20

/** The last `lines` lines of `text`. */
export function lastLines (text: string, lines = TAIL_LINES): string {
  return text.replace(/\n$/, '').split('\n').slice(-lines).join('\n')
}

/** The last lines of the log file at `path`; `(no log)` when it cannot be read. */
export function logTail (path: string, lines = TAIL_LINES): string {
  try {
    return lastLines(readFileSync(path, 'utf8'), lines)
  } catch {
    return '(no log)'
  }
}

/**
 * What a process writes to its piped stdout and stderr, interleaved as it arrives, keeping the
 * last `limit` characters.
 */
export function collectOutput (streams: Array<Readable | null>, limit: number): () => string {
  let text = ''
  for (const s of streams) {
    s?.setEncoding('utf8')
    s?.on('data', (chunk: string) => {
      text += chunk
      if (text.length > limit) text = text.slice(-limit)
    })
  }
  return () => text
}
