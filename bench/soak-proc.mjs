/**
 * /proc sampling and the small statistics the soak reports (bench/soak.mjs).
 *
 * A sample of a process: `{ t, rss, fd }`, `t` ms since the epoch, `rss` bytes (VmRSS of
 * /proc/<pid>/status), `fd` the number of entries of /proc/<pid>/fd. A process that is gone or
 * a zombie gives `undefined`.
 */
import { readdir, readFile } from 'node:fs/promises'

/** RSS (bytes) and open file descriptors of `pid` now, or `undefined` when it is gone or a zombie. */
export async function sampleProc (pid) {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8')
    if (/^State:\s+Z/m.test(status)) return undefined
    const rss = /VmRSS:\s+(\d+) kB/.exec(status)
    if (rss == null) return undefined
    const fd = (await readdir(`/proc/${pid}/fd`)).length
    return { t: Date.now(), rss: Number(rss[1]) * 1024, fd }
  } catch {
    return undefined
  }
}

/**
 * From a Node service's Prometheus `/metrics` (prom-client's default metrics), bytes: V8's used
 * heap (`nodejs_heap_size_used_bytes`), the memory held outside it for Buffers
 * (`nodejs_external_memory_bytes`), and the young generation's committed size
 * (`nodejs_heap_space_size_total_bytes` of the spaces `new` and `new_large_object`), which V8
 * grows in doubling steps up to a cap set from the machine's memory (128 MiB on 24 GB) and never
 * beyond. `undefined` when the scrape fails.
 */
export async function sampleHeap (baseUrl) {
  try {
    const text = await (await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(3000) })).text()
    const sum = (name, labels = []) => {
      let total
      for (const line of text.split('\n')) {
        const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line)
        if (m == null || m[1] !== name || !labels.some(l => (m[2] ?? '').includes(l)) && labels.length > 0) continue
        total = (total ?? 0) + Number(m[3])
      }
      return total
    }
    return {
      heap: sum('nodejs_heap_size_used_bytes'),
      external: sum('nodejs_external_memory_bytes'),
      young: sum('nodejs_heap_space_size_total_bytes', ['space="new"', 'space="new_large_object"'])
    }
  } catch {
    return undefined
  }
}

/** Whether `pid` still runs (neither gone nor a zombie waiting to be reaped). */
export async function running (pid) {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    return !/\) Z /.test(stat)
  } catch {
    return false
  }
}

/** The `q` quantile (0..1) of `values` by nearest rank; `NaN` for none. */
export function quantile (values, q) {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]
}

export const median = (values) => quantile(values, 0.5)

/** Least-squares slope of `ys` over `xs` (units of y per unit of x); `NaN` under 2 points. */
export function slope (xs, ys) {
  const n = xs.length
  if (n < 2) return NaN
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let num = 0
  let den = 0
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my)
    den += (xs[i] - mx) ** 2
  }
  return den === 0 ? NaN : num / den
}

/**
 * What one process instance did from `from` (ms) on: the median RSS and FD count over the first
 * `windowMs` after `from` (the baseline) and over the last `windowMs` it was seen (the end), the
 * maxima, growth in %, the RSS growth over the second half of the span (end vs the median over
 * the `windowMs` around its middle), the RSS slope in MiB per hour, the span measured (ms), and
 * the medians of `heap`, `external` and `young` where the samples carry them (sampleHeap).
 * `undefined` when no sample lies at or after `from`.
 */
export function summarize (samples, from, windowMs) {
  const after = samples.filter(s => s.t >= from)
  if (after.length === 0) return undefined
  const t0 = after[0].t
  const tEnd = after[after.length - 1].t
  const first = after.filter(s => s.t <= t0 + windowMs)
  const last = after.filter(s => s.t >= tEnd - windowMs)
  const rssBase = median(first.map(s => s.rss))
  const rssEnd = median(last.map(s => s.rss))
  // the second half of the span: a leak keeps growing there, a heap settling does not
  const mid = after.filter(s => Math.abs(s.t - (t0 + tEnd) / 2) <= windowMs / 2)
  const rssMid = mid.length === 0 ? undefined : median(mid.map(s => s.rss))
  const fdBase = median(first.map(s => s.fd))
  const fdEnd = median(last.map(s => s.fd))
  const heapOf = (xs, key) => {
    const vs = xs.map(s => s[key]).filter(v => v != null)
    return vs.length === 0 ? undefined : median(vs)
  }
  return {
    heapBase: heapOf(first, 'heap'),
    heapEnd: heapOf(last, 'heap'),
    externalBase: heapOf(first, 'external'),
    externalEnd: heapOf(last, 'external'),
    samples: after.length,
    spanMs: tEnd - t0,
    rssBase,
    rssEnd,
    rssMax: Math.max(...after.map(s => s.rss)),
    rssGrowthPct: (rssEnd - rssBase) / rssBase * 100,
    youngBase: heapOf(first, 'young'),
    youngEnd: heapOf(last, 'young'),
    rssMid,
    rssSecondHalfGrowthPct: rssMid == null ? undefined : (rssEnd - rssMid) / rssMid * 100,
    rssSlopeMiBPerHour: slope(after.map(s => (s.t - t0) / 3_600_000), after.map(s => s.rss / 1024 / 1024)),
    fdBase,
    fdEnd,
    fdMax: Math.max(...after.map(s => s.fd))
  }
}

/** The default inspector port, where SIGUSR1 makes a Node process listen (127.0.0.1). */
const INSPECTOR_PORT = 9229
let inspecting = Promise.resolve()

/**
 * RSS of a running Node process after full garbage collections, bytes ("settled" RSS: what the
 * process holds, not the garbage V8 has yet to collect nor the young generation it has grown):
 * SIGUSR1 opens the process's inspector on 127.0.0.1:9229 (Node's standard way to attach to a
 * running process), the probe checks over the Chrome DevTools Protocol that it reached that pid,
 * runs `HeapProfiler.collectGarbage` three times, reads VmRSS and closes the inspector again.
 * Probes run one at a time (one port). `undefined` when the process is gone or the inspector
 * cannot be reached (e.g. the port is taken by another process) within `timeoutMs`.
 */
export async function settledRss (pid, timeoutMs = 15_000) {
  const run = inspecting.then(() => probe(pid, timeoutMs))
  inspecting = run.catch(() => {})
  return await run.catch(() => undefined)
}

async function probe (pid, timeoutMs) {
  const deadline = AbortSignal.timeout(timeoutMs)
  process.kill(pid, 'SIGUSR1')
  let target
  while (target == null) {
    deadline.throwIfAborted()
    try {
      const list = await (await fetch(`http://127.0.0.1:${INSPECTOR_PORT}/json/list`, { signal: AbortSignal.timeout(1000) })).json()
      target = list[0]?.webSocketDebuggerUrl
    } catch {}
    if (target == null) await new Promise(resolve => setTimeout(resolve, 100))
  }
  const ws = new WebSocket(target)
  try {
    await new Promise((resolve, reject) => {
      ws.addEventListener('open', resolve, { once: true })
      ws.addEventListener('error', reject, { once: true })
      deadline.addEventListener('abort', () => { reject(deadline.reason) }, { once: true })
    })
    let id = 0
    const pending = new Map()
    ws.addEventListener('message', ev => {
      const m = JSON.parse(ev.data)
      if (m.id != null) pending.get(m.id)?.(m)
    })
    const call = (method, params = {}) => new Promise((resolve, reject) => {
      const i = ++id
      pending.set(i, resolve)
      deadline.addEventListener('abort', () => { reject(deadline.reason) }, { once: true })
      ws.send(JSON.stringify({ id: i, method, params }))
    })
    const seen = await call('Runtime.evaluate', { expression: 'process.pid', returnByValue: true })
    if (seen.result?.result?.value !== pid) throw new Error(`the inspector on port ${INSPECTOR_PORT} belongs to pid ${seen.result?.result?.value}, not ${pid}`)
    for (let i = 0; i < 3; i++) await call('HeapProfiler.collectGarbage')
    await new Promise(resolve => setTimeout(resolve, 500))
    const s = await sampleProc(pid)
    // closes the inspector (no answer comes back: the session ends with it)
    ws.send(JSON.stringify({ id: ++id, method: 'Runtime.evaluate', params: { expression: 'process._debugEnd()' } }))
    await new Promise(resolve => setTimeout(resolve, 300))
    return s?.rss
  } finally {
    ws.close()
  }
}
