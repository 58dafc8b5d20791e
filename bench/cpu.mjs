/**
 * CPU accounting for the benchmarks: user + system CPU of processes, from `/proc/<pid>/stat`
 * (utime and stime, fields 14 and 15, in clock ticks of `getconf CLK_TCK`, 100 on Linux). A
 * process that has exited counts 0 from then on, so take readings while they run.
 */
import { execFileSync } from 'node:child_process'
import { readdir, readFile } from 'node:fs/promises'

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

/**
 * A process's CPU seconds by kind of thread, from `/proc/<pid>/task/<tid>/stat` and the
 * thread's name: `main` (the JavaScript thread), `gc` (V8's worker threads: concurrent and
 * parallel garbage collection, background compilation), `pool` (libuv's threadpool: file
 * system calls, `crypto` hashing), `other`. Threads that ended count no more.
 */
export async function cpuByThread (pid) {
  const out = { main: 0, gc: 0, pool: 0, other: 0 }
  let tids = []
  try {
    tids = await readdir(`/proc/${pid}/task`)
  } catch {
    return out
  }
  await Promise.all(tids.map(async tid => {
    try {
      const [stat, comm] = await Promise.all([readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8'), readFile(`/proc/${pid}/task/${tid}/comm`, 'utf8')])
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const s = (Number(fields[11]) + Number(fields[12])) / TICKS
      const kind = tid === String(pid) ? 'main' : comm.startsWith('V8') ? 'gc' : comm.startsWith('libuv') ? 'pool' : 'other'
      out[kind] += s
    } catch {}
  }))
  return out
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
  const threads = async () => Object.fromEntries(await Promise.all(named.map(async p => [p.name, await cpuByThread(p.pid)])))
  const before = await cpuByPid(named.map(p => p.pid))
  const threadsBefore = await threads()
  return {
    /** `byThread[name]`: that process's seconds by kind of thread ({@link cpuByThread}). */
    async stop () {
      const after = await cpuByPid(named.map(p => p.pid))
      const threadsAfter = await threads()
      const byName = {}
      const byThread = {}
      let total = 0
      for (const p of named) {
        const s = after.get(p.pid) - before.get(p.pid)
        byName[p.name] = Math.round(s * 100) / 100
        byThread[p.name] = Object.fromEntries(Object.keys(threadsAfter[p.name]).map(k => [k, Math.round((threadsAfter[p.name][k] - threadsBefore[p.name][k]) * 100) / 100]))
        total += s
      }
      return { total: Math.round(total * 100) / 100, byName, byThread }
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
