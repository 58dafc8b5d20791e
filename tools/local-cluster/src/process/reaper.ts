import type { ChildProcess } from 'node:child_process'

/**
 * Every service process still running, and whether it leads its own process group. They are
 * killed (SIGKILL; the whole group for a group leader, so a supervisor's own children go with
 * it) when this process exits without having stopped them: on `exit` (an uncaught error,
 * `process.exit`), and on SIGINT, SIGTERM or SIGHUP when nothing else in this process listens
 * for that signal (Node would die of it without running `exit` handlers; the signal is raised
 * again once they are killed, so the process still dies of it). A process that handles the
 * signal itself is trusted to stop its children, gracefully.
 */
const live = new Map<ChildProcess, { group: boolean }>()
const FATAL_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

function killAll (): void {
  for (const [child, { group }] of live) {
    try {
      if (group && child.pid != null) process.kill(-child.pid, 'SIGKILL')
      else child.kill('SIGKILL')
    } catch {
      // already gone
    }
  }
}

function onSignal (signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return
  killAll()
  release()
  process.kill(process.pid, signal)
}

function hold (): void {
  process.on('exit', killAll)
  // first in line: a `once` listener of the host is still counted when this one runs
  for (const s of FATAL_SIGNALS) process.prependListener(s, onSignal)
}

function release (): void {
  process.removeListener('exit', killAll)
  for (const s of FATAL_SIGNALS) process.removeListener(s, onSignal)
}

/** Kill `child` (its group when `group`) if this process exits before it does; forgotten once it exits. */
export function reapOnExit (child: ChildProcess, group: boolean): void {
  if (live.size === 0) hold()
  live.set(child, { group })
  const forget = (): void => {
    if (!live.delete(child)) return
    if (live.size === 0) release()
  }
  child.once('exit', forget)
  child.on('error', () => { if (child.pid == null) forget() })
}
