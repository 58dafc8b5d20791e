/**
 * CPU accounting for the benchmarks: user + system CPU of processes, from `/proc/<pid>/stat`
 * (utime and stime, fields 14 and 15, in clock ticks of `getconf CLK_TCK`, 100 on Linux). A
 * process that has exited counts 0 from then on, so take readings while they run.
 */
import { execFileSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'

const TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100

/** User + system CPU seconds `pid` has used so far (0 once it is gone). */
export async function cpuSeconds (pid) {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    // the command name (field 2) is in parentheses and may hold spaces: split after it
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / TICKS
  } catch {
    return 0
  }
}

/** CPU seconds of each of `pids`, keyed by pid. */
export async function cpuByPid (pids) {
  return new Map(await Promise.all(pids.map(async pid => [pid, await cpuSeconds(pid)])))
}

/**
 * Start a CPU meter over `named` processes (`[{ name, pid }]`); `stop()` gives the seconds each
 * used since, by name, and their sum.
 */
export async function cpuMeter (named) {
  const before = await cpuByPid(named.map(p => p.pid))
  return {
    async stop () {
      const after = await cpuByPid(named.map(p => p.pid))
      const byName = {}
      let total = 0
      for (const p of named) {
        const s = after.get(p.pid) - before.get(p.pid)
        byName[p.name] = Math.round(s * 100) / 100
        total += s
      }
      return { total: Math.round(total * 100) / 100, byName }
    }
  }
}

/** Peak resident set size of `pid` so far (VmHWM), bytes; 0 once it is gone. */
export async function peakRss (pid) {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8')
    return Number(/VmHWM:\s+(\d+) kB/.exec(status)[1]) * 1024
  } catch {
    return 0
  }
}
