#!/usr/bin/env node
/**
 * Soak: a real local cluster (`codio cluster`: 1 origin, SOAK_EDGES edges, 2 relays, the tracker
 * on real NATS and Redis) under mixed load for SOAK_MINUTES, to show that memory and file
 * descriptors stay flat and that no byte served is wrong while a relay is restarted every few
 * minutes.
 *
 *   npm run soak                         (30 minutes, 10 of them warm-up: V8 grows each
 *                                        service's young generation in doubling steps to
 *                                        128 MiB over about that long, which is not a leak)
 *   SOAK_MINUTES=3 SOAK_WARMUP_MINUTES=1 SOAK_RELAY_RESTART_MINUTES=1 node bench/soak.mjs
 *
 * Load, each part a loop of its own with a pause, so that it does not just saturate the cores:
 * - publishes: contents of log-uniform random size in [SOAK_MIN_KIB, SOAK_MAX_MIB] (64 KiB to
 *   16 MiB), bytes from AES-128-CTR under a random key (so any range can be regenerated to check
 *   it), through the origin's `PUT /content` or, one in SOAK_CLI_EVERY, `codio publish`;
 * - cold fetches: each new content fetched at once at an edge that does not have it (`cold`,
 *   from the origin), and half of them at a second edge too (`cold-swarm`);
 * - hits: SOAK_HIT_CONCURRENCY loops fetching a random recent content at an edge that holds it,
 *   whole (`hit`) or a random single range (`hit-range`: `a-b`, `a-`, `-n`);
 * - a relay restarted every SOAK_RELAY_RESTART_MINUTES, the relays in turn, alternately by
 *   SIGTERM and SIGKILL, then started again from its own config.toml (same ports and peer key,
 *   as restartNode of libs/cli/test/local-cluster.ts does) and waited for on `/readyz`.
 * Every completed body's SHA-256 is checked against the published bytes (a range against the
 * bytes its Content-Range names); a mismatch is a wrong byte, printed at once with the first
 * differing offset. TTFB is from the request to the first body byte (headers alone do not count).
 *
 * Every SOAK_SAMPLE_SECONDS (10) each process of the cluster (origin, edges, relays, tracker,
 * nats-server, redis-server) is sampled from /proc: VmRSS and the entries of /proc/<pid>/fd.
 * A process is measured from the end of the warm-up (a relay started again: from its start plus
 * SOAK_RELAY_SETTLE_SECONDS, 60): its baseline and its end are the medians over the first and
 * the last SOAK_WINDOW_SECONDS (60) it was measured, so one garbage collection does not decide.
 *
 * A Node service's RSS swings by ~100 MiB without growing: V8 commits a young generation of up
 * to 128 MiB and frees Buffers only when it collects them (a forced full GC takes an edge from
 * ~330 to ~200 MiB). So each Node service is also probed for its *settled* RSS: three full GCs
 * through its inspector (SIGUSR1, then the DevTools protocol; see settledRss in soak-proc.mjs),
 * then VmRSS, once after the first window of its measured span and once at the end. That is what survives
 * collection, so a leak in the heap, in Buffers or in native memory still shows in it.
 *
 * Verdicts (exit 1 when one fails):
 * - RSS growth (end vs baseline) < 10 % (or < 4 MiB, for the small nats-server and redis-server)
 *   for every process measured for at least 2 windows: the settled RSS for a Node service with
 *   both probes, the windows' medians otherwise. Beside it, for diagnosis: the growth over
 *   the second half of the measured time (a leak keeps growing, a heap settling does not), and
 *   for a Node service V8's young generation (committed `new` spaces, which V8 grows in doubling
 *   steps up to a cap set from the machine's memory: 128 MiB per process on 24 GB), used heap
 *   and external memory from its /metrics;
 * - FDs flat: end <= baseline + max(10, 5 %) for the same processes;
 * - zero wrong bytes;
 * - every restarted relay ready within 60 s, and no failed request outside the restart windows
 *   (kill to ready + SOAK_RESTART_GRACE_SECONDS, 30); failures inside them are counted apart.
 * Other knobs: SOAK_EDGES (3), SOAK_HIT_PAUSE_MS (100), SOAK_PUBLISH_PAUSE_MS (1000),
 * SOAK_POOL (48 recent contents eligible for hits).
 *
 * What bounds the figures: a 2-core machine shared by the load generator (which hashes every
 * byte and regenerates range bytes), eight cluster processes and whatever else runs; TTFB and
 * rates are loopback figures under that contention, not a capacity. RSS of Node processes moves
 * with V8's heap sizing and with glibc arenas, hence the medians and the warm-up.
 *
 * Prints a progress line a minute, a table, the verdicts, then one JSON line of every figure.
 */
import { execFile } from 'node:child_process'
import { createCipheriv, createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { httpReady, spawnService } from '@codio/local-cluster/process'
import { startCluster } from './local-cluster.mjs'
import { quantile, running, sampleHeap, sampleProc, settledRss, summarize } from './soak-proc.mjs'

const exec = promisify(execFile)
const root = fileURLToPath(new URL('..', import.meta.url))
const cli = join(root, 'libs/cli/dist/bin.js')
const relayMain = join(root, 'services/relay/dist/main.js')
const env = (name, fallback) => process.env[name] == null || process.env[name] === '' ? fallback : Number(process.env[name])
const KiB = 1024
const MiB = 1024 * KiB
const cfg = {
  minutes: env('SOAK_MINUTES', 30),
  warmupMinutes: env('SOAK_WARMUP_MINUTES', 10),
  relayRestartMinutes: env('SOAK_RELAY_RESTART_MINUTES', 4),
  edges: env('SOAK_EDGES', 3),
  relays: 2,
  hitConcurrency: env('SOAK_HIT_CONCURRENCY', 3),
  hitPauseMs: env('SOAK_HIT_PAUSE_MS', 100),
  publishPauseMs: env('SOAK_PUBLISH_PAUSE_MS', 1000),
  minBytes: env('SOAK_MIN_KIB', 64) * KiB,
  maxBytes: env('SOAK_MAX_MIB', 16) * MiB,
  cliEvery: env('SOAK_CLI_EVERY', 4),
  pool: env('SOAK_POOL', 48),
  sampleSeconds: env('SOAK_SAMPLE_SECONDS', 10),
  windowSeconds: env('SOAK_WINDOW_SECONDS', 60),
  relaySettleSeconds: env('SOAK_RELAY_SETTLE_SECONDS', 60),
  restartGraceSeconds: env('SOAK_RESTART_GRACE_SECONDS', 30),
  requestTimeoutSeconds: env('SOAK_REQUEST_TIMEOUT_SECONDS', 120)
}
const RSS_LIMIT_PCT = 10
/** Growth below this many bytes passes whatever its %: nats-server and redis-server live in ~13 MiB. */
const RSS_FLOOR = 4 * MiB
const FD_SLACK = (base) => Math.max(10, base * 0.05)
const READY_LIMIT_MS = 60_000

const sleep = (ms) => new Promise(resolve => setTimeout(resolve, ms))
const pick = (xs) => xs[Math.floor(Math.random() * xs.length)]
const mib = (b) => (b / MiB).toFixed(1)
const opt = (b) => b == null ? '-' : mib(b)
const ms = (x) => Number.isFinite(x) ? x.toFixed(1) : '-'
const log = (line) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`)

/** Bytes [start, end) of the content whose bytes are AES-128-CTR's keystream under `key`. */
function contentBytes (key, start, end) {
  const block = Math.floor(start / 16)
  const skip = start - block * 16
  const iv = Buffer.alloc(16)
  iv.writeBigUInt64BE(BigInt(block), 8)
  return createCipheriv('aes-128-ctr', key, iv).update(Buffer.alloc(end - start + skip)).subarray(skip)
}
const sha256 = (b) => createHash('sha256').update(b).digest('hex')

/** A short name for why a request failed without an HTTP status. */
function failure (err) {
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return 'timeout'
  const code = err?.cause?.code ?? err?.code
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') return 'reset'
  if (code === 'ECONNREFUSED') return 'refused'
  if (err?.message === 'terminated') return 'cut'
  return `error:${code ?? err?.name ?? 'unknown'}`
}

// ---- the cluster ----------------------------------------------------------------------------

const dir = await mkdtemp(join(tmpdir(), 'codio-soak-'))
const stateDir = join(dir, '.codio')
/** Processes this script started (restarted relays, spawnService handles): stopped before the cluster. */
const ours = new Set()
let cluster
let stopAt = Infinity
// the cluster runs in a process group of its own (bench/local-cluster.mjs): Ctrl-C reaches this
// script alone, which ends the load and reports while the cluster still runs
process.once('SIGINT', () => { log('SIGINT: ending the load, then the report'); stopAt = Date.now() })

async function cleanup () {
  for (const relay of ours) await relay.stop({ graceMs: 15_000 })
  await cluster?.stop()
  await rm(dir, { recursive: true, force: true })
}

let exitCode = 1
try {
  const t0 = Date.now()
  cluster = await startCluster(dir, { edges: cfg.edges, relays: cfg.relays, readyTimeoutMs: 180_000 })
  const { file } = cluster
  if (file.tracker?.natsPid == null || file.tracker?.redisPid == null) throw new Error(`the soak needs the tracker on local NATS and Redis (nats-server, redis-server on PATH):\n${cluster.output()}`)
  const proc = (name) => file.processes.find(p => p.name === name)
  const origin = proc('origin-1')
  const edges = file.processes.filter(p => p.role === 'edge')
  const relays = file.processes.filter(p => p.role === 'relay')
  log(`cluster up in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${file.processes.map(p => p.name).join(', ')}, tracker, nats-server, redis-server (state in ${stateDir})`)
  log(`settings ${JSON.stringify(cfg)}`)

  /** Every process instance sampled: a restarted relay is a new instance under the same name. */
  const instances = []
  const current = new Map()
  const track = (name, role, pid, from, child, http) => {
    const n = instances.filter(i => i.name === name).length + 1
    const inst = { name, label: n === 1 ? name : `${name}#${n}`, role, pid, from, until: undefined, child, http, samples: [] }
    instances.push(inst)
    current.set(name, inst)
    return inst
  }
  const start = Date.now()
  for (const p of file.processes) track(p.name, p.role, p.pid, start, undefined, p.http)
  track('tracker', 'tracker', file.tracker.pid, start, undefined, file.tracker.http)
  track('nats', 'nats', file.tracker.natsPid, start)
  track('redis', 'redis', file.tracker.redisPid, start)

  const loadStart = Date.now()
  stopAt = Math.min(stopAt, loadStart + cfg.minutes * 60_000)
  const warmupEnd = loadStart + cfg.warmupMinutes * 60_000
  const going = () => Date.now() < stopAt

  // ---- sampling ------------------------------------------------------------------------------
  const sampleAll = async () => {
    for (const inst of instances) {
      if (inst.until != null) continue
      const s = await sampleProc(inst.pid)
      if (s == null) continue
      if (inst.http != null) Object.assign(s, await sampleHeap(inst.http))
      inst.samples.push(s)
    }
  }
  const sampler = (async () => {
    while (going()) {
      await sampleAll()
      await sleep(cfg.sampleSeconds * 1000)
    }
  })()

  // ---- settled RSS: each Node service after full GCs, when its measurement starts and at the end
  const settle = async (inst, key) => {
    const rss = await settledRss(inst.pid)
    if (rss != null) (inst.settled ??= {})[key] = { t: Date.now(), rss }
  }
  const settler = (async () => {
    // after the first raw window, so the forced GCs do not lower the raw baseline
    await sleep(Math.max(0, warmupEnd + cfg.windowSeconds * 1000 - Date.now()))
    for (const inst of instances) if (inst.http != null && inst.until == null && inst.from === start && going()) await settle(inst, 'base')
  })()
  const laterSettles = []

  // ---- requests ------------------------------------------------------------------------------
  const records = []
  const wrong = []
  const windows = []
  const failureTexts = []
  const contents = []
  const record = (r) => { records.push(r); return r }

  /** GET `c` at `edge` (optionally one range `spec` of expected [start, end]); checks every byte. */
  async function get (kind, edge, c, range) {
    const t0 = Date.now()
    const p0 = performance.now()
    const base = { kind, edge: edge.name, cid: c.cid, t0 }
    let res
    try {
      res = await fetch(`${edge.http}/content/${c.cid}`, { headers: range == null ? {} : { range: `bytes=${range.spec}` }, signal: AbortSignal.timeout(cfg.requestTimeoutSeconds * 1000) })
    } catch (err) {
      return record({ ...base, t1: Date.now(), error: failure(err), detail: String(err?.cause?.message ?? err?.message) })
    }
    if (res.status !== 200 && res.status !== 206) {
      const text = await res.text().catch(() => '')
      return record({ ...base, t1: Date.now(), status: res.status, error: `http-${res.status}`, detail: text.slice(0, 300) })
    }
    const parts = []
    let n = 0
    let ttfb
    try {
      for await (const b of res.body) {
        if (ttfb == null) ttfb = performance.now() - p0
        parts.push(b)
        n += b.length
      }
    } catch (err) {
      return record({ ...base, t1: Date.now(), status: res.status, bytes: n, error: failure(err) === 'reset' ? 'reset' : 'cut', detail: String(err?.cause?.message ?? err?.message) })
    }
    // what the answer claims to be: the whole content (200) or the range of its Content-Range (206)
    let from = 0
    let to = c.size - 1
    let error
    if (res.status === 206) {
      const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.headers.get('content-range') ?? '')
      if (m == null || Number(m[3]) !== c.size) {
        return record({ ...base, t1: Date.now(), status: 206, bytes: n, error: 'bad-content-range', detail: res.headers.get('content-range') })
      }
      from = Number(m[1])
      to = Number(m[2])
      if (range == null || from !== range.start || to !== range.end) error = 'range-mismatch'
    } // a 200 with the whole content is a valid answer to a Range request too
    if (n !== to - from + 1) {
      return record({ ...base, t1: Date.now(), status: res.status, bytes: n, error: 'short-body', detail: `${n} of ${to - from + 1} bytes` })
    }
    const body = Buffer.concat(parts, n)
    const expected = from === 0 && to === c.size - 1 ? undefined : contentBytes(c.key, from, to + 1)
    const ok = expected == null ? sha256(body) === c.sha : sha256(body) === sha256(expected)
    if (!ok) {
      const want = expected ?? contentBytes(c.key, 0, c.size)
      let at = 0
      while (at < n && body[at] === want[at]) at++
      const w = { kind, edge: edge.name, cid: c.cid, status: res.status, range: `${from}-${to}`, size: c.size, firstWrongOffset: from + at, at: new Date().toISOString() }
      wrong.push(w)
      console.error(`WRONG BYTES ${JSON.stringify(w)}`)
      return record({ ...base, t1: Date.now(), status: res.status, bytes: n, ttfb, error: 'wrong-bytes' })
    }
    // a range answered with another Content-Range than asked: its bytes were right, the answer was not
    return record({ ...base, t1: Date.now(), status: res.status, bytes: n, ttfb, ok: error == null, error })
  }

  /** A random single range of `size` bytes: `a-b` (up to 2 MiB), `a-` or `-n`. */
  function randomRange (size) {
    const form = Math.random()
    if (form < 0.6) {
      const start = Math.floor(Math.random() * size)
      const end = Math.min(size - 1, start + Math.floor(Math.random() * 2 * MiB))
      return { spec: `${start}-${end}`, start, end }
    }
    if (form < 0.8) {
      const start = Math.floor(Math.random() * size)
      return { spec: `${start}-`, start, end: size - 1 }
    }
    const n = 1 + Math.floor(Math.random() * Math.min(size, MiB))
    return { spec: `-${n}`, start: size - n, end: size - 1 }
  }

  let published = 0
  /** Publish one new content; `undefined` when the publish failed (recorded). */
  async function publishOne () {
    const size = Math.round(Math.exp(Math.log(cfg.minBytes) + Math.random() * (Math.log(cfg.maxBytes) - Math.log(cfg.minBytes))))
    const key = randomBytes(16)
    const bytes = contentBytes(key, 0, size)
    const c = { key, size, sha: sha256(bytes), holders: new Set(), cid: undefined }
    const viaCli = ++published % cfg.cliEvery === 0
    const t0 = Date.now()
    const p0 = performance.now()
    const base = { kind: 'publish', edge: 'origin-1', t0, via: viaCli ? 'cli' : 'http' }
    try {
      if (viaCli) {
        const path = join(dir, `publish-${published}.bin`)
        await writeFile(path, bytes)
        try {
          const { stdout } = await exec(process.execPath, [cli, 'publish', path, '--origin', origin.http, '--type', 'application/octet-stream', '--quiet'], { cwd: dir, timeout: cfg.requestTimeoutSeconds * 1000 })
          c.cid = stdout.trim().split('\n').pop()
        } finally {
          await rm(path, { force: true })
        }
      } else {
        const res = await fetch(`${origin.http}/content`, { method: 'PUT', body: bytes, headers: { 'content-type': 'application/octet-stream' }, signal: AbortSignal.timeout(cfg.requestTimeoutSeconds * 1000) })
        const text = await res.text()
        if (res.status !== 201) {
          record({ ...base, t1: Date.now(), status: res.status, error: `http-${res.status}`, detail: text.slice(0, 300) })
          return undefined
        }
        c.cid = JSON.parse(text).cid
      }
    } catch (err) {
      record({ ...base, t1: Date.now(), error: err?.code === 'ETIMEDOUT' || err?.killed ? 'timeout' : viaCli ? 'cli-failed' : failure(err), detail: String(err?.stderr ?? err?.cause?.message ?? err?.message).slice(0, 300) })
      return undefined
    }
    record({ ...base, cid: c.cid, t1: Date.now(), bytes: size, durationMs: performance.now() - p0, ok: true })
    return c
  }

  const publisher = (async () => {
    while (going()) {
      const c = await publishOne()
      if (c != null) {
        const [first, second] = [...edges].sort(() => Math.random() - 0.5)
        const r = await get('cold', first, c)
        if (r.ok) c.holders.add(first.name)
        if (going() && Math.random() < 0.5) {
          const r2 = await get('cold-swarm', second, c)
          if (r2.ok) c.holders.add(second.name)
        }
        contents.push(c)
        if (contents.length > cfg.pool) contents.shift()
      }
      await sleep(cfg.publishPauseMs)
    }
  })()

  const hitters = Array.from({ length: cfg.hitConcurrency }, async () => {
    while (going()) {
      const held = contents.filter(c => c.holders.size > 0)
      if (held.length === 0) { await sleep(500); continue }
      const c = pick(held)
      const edge = proc(pick([...c.holders]))
      if (Math.random() < 0.4) await get('hit-range', edge, c, randomRange(c.size))
      else await get('hit', edge, c)
      await sleep(cfg.hitPauseMs)
    }
  })

  // ---- relay restarts ------------------------------------------------------------------------
  const restarts = []
  const restarter = (async () => {
    let n = 0
    while (true) {
      const next = loadStart + (n + 1) * cfg.relayRestartMinutes * 60_000
      while (going() && Date.now() < next) await sleep(Math.min(1000, next - Date.now()))
      if (!going()) return
      const relay = relays[n % relays.length]
      const signal = n % 2 === 0 ? 'SIGTERM' : 'SIGKILL'
      n++
      const inst = current.get(relay.name)
      const ev = { relay: relay.name, signal, at: new Date().toISOString() }
      const window = { from: Date.now(), to: Infinity }
      windows.push(window)
      process.kill(inst.pid, signal)
      const killed = Date.now()
      while (await running(inst.pid)) {
        if (Date.now() - killed > 30_000 && ev.forced == null) {
          ev.forced = 'did not exit in 30 s after SIGTERM: SIGKILL'
          process.kill(inst.pid, 'SIGKILL')
        }
        await sleep(50)
      }
      ev.exitMs = Date.now() - killed
      await sampleAll()
      inst.until = Date.now()
      // as the cluster started it: its flags, its config, its log
      const restarted = spawnService({ name: relay.name, script: relayMain, args: ['--config', join(relay.dataDir, 'config.toml')], output: { file: join(stateDir, 'logs', `${relay.name}.log`) } })
      ours.add(restarted)
      const spawned = Date.now()
      const fresh = track(relay.name, 'relay', restarted.pid, spawned, restarted.child, relay.http)
      try {
        await restarted.ready(httpReady(`${relay.http}/readyz`), { timeoutMs: READY_LIMIT_MS })
      } catch {
        const { exitCode: code, signalCode } = restarted.child
        ev.failed = restarted.running() ? `not ready in ${READY_LIMIT_MS / 1000} s` : `exited (${code ?? signalCode}) on restart`
      }
      ev.readyMs = Date.now() - spawned
      // its settled baseline once it has settled (and not before the warm-up ends)
      laterSettles.push((async () => {
        await sleep(Math.max(0, Math.max(warmupEnd, spawned + cfg.relaySettleSeconds * 1000) + cfg.windowSeconds * 1000 - Date.now()))
        if (fresh.until == null && going()) await settle(fresh, 'base')
      })())
      window.to = Date.now() + cfg.restartGraceSeconds * 1000
      log(`restarted ${relay.name} (${signal}): exited in ${ev.exitMs} ms, ${ev.failed ?? `ready in ${ev.readyMs} ms`} as pid ${restarted.pid}`)
      restarts.push(ev)
      if (ev.failed != null) { fresh.until = Date.now(); continue }
      // the restarted relay once the grace has passed: how many peers found it again
      ;(async () => {
        await sleep(cfg.restartGraceSeconds * 1000)
        try {
          const res = await fetch(`${relay.admin}/codio.admin.v1.AdminService/GetStatus`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', signal: AbortSignal.timeout(5000) })
          ev.connectedPeersAfterGrace = (await res.json()).connectedPeers ?? 0
        } catch (err) {
          ev.connectedPeersAfterGrace = `status failed: ${err.message}`
        }
      })()
    }
  })()

  // ---- progress ------------------------------------------------------------------------------
  const progress = (async () => {
    while (going()) {
      await sleep(Math.min(60_000, Math.max(0, stopAt - Date.now())))
      const done = records.filter(r => r.ok).length
      const failed = records.filter(r => !r.ok).length
      const rss = instances.filter(i => i.until == null && i.samples.length > 0).map(i => `${i.label} ${mib(i.samples.at(-1).rss)}/${i.samples.at(-1).fd}`).join(' ')
      log(`${((Date.now() - loadStart) / 60_000).toFixed(1)} min: ${done} ok, ${failed} failed, ${wrong.length} wrong; RSS MiB/fd: ${rss}`)
    }
  })()

  await Promise.all([publisher, ...hitters, restarter, progress, sampler, settler])
  await Promise.all(laterSettles)
  for (const inst of instances) if (inst.settled?.base != null && inst.until == null) await settle(inst, 'end')
  await sampleAll()
  const loadEnd = Date.now()

  // ---- figures -------------------------------------------------------------------------------
  const inWindow = (r) => windows.some(w => r.t0 < w.to && r.t1 > w.from)
  const kinds = ['hit', 'hit-range', 'cold', 'cold-swarm', 'publish']
  const perKind = {}
  for (const kind of kinds) {
    const rs = records.filter(r => r.kind === kind)
    const after = rs.filter(r => r.ok && r.t0 >= warmupEnd)
    const ttfbs = after.filter(r => r.ttfb != null).map(r => r.ttfb)
    const errors = {}
    const errorsInRestartWindows = {}
    for (const r of rs.filter(r => !r.ok)) {
      const into = inWindow(r) ? errorsInRestartWindows : errors
      into[r.error] = (into[r.error] ?? 0) + 1
      // the first 20, and every timeout (a request that hung is worth its own line)
      if (failureTexts.length < 20 || r.error === 'timeout') failureTexts.push({ kind, edge: r.edge, error: r.error, at: new Date(r.t0).toISOString(), ms: r.t1 - r.t0, inRestartWindow: inWindow(r), detail: r.detail })
    }
    perKind[kind] = {
      requests: rs.length,
      ok: rs.filter(r => r.ok).length,
      bytes: rs.filter(r => r.ok).reduce((a, r) => a + r.bytes, 0),
      ttfbMs: { n: ttfbs.length, p50: quantile(ttfbs, 0.5), p95: quantile(ttfbs, 0.95), p99: quantile(ttfbs, 0.99), max: quantile(ttfbs, 1) },
      ...(kind === 'publish' ? { byVia: { http: rs.filter(r => r.ok && r.via === 'http').length, cli: rs.filter(r => r.ok && r.via === 'cli').length }, durationMs: { p50: quantile(after.map(r => r.durationMs), 0.5), p99: quantile(after.map(r => r.durationMs), 0.99) } } : {}),
      errors,
      errorsInRestartWindows
    }
  }

  const windowMs = cfg.windowSeconds * 1000
  const processes = []
  for (const inst of instances) {
    const from = inst.from > start ? Math.max(warmupEnd, inst.from + cfg.relaySettleSeconds * 1000) : warmupEnd
    const s = summarize(inst.samples, from, windowMs)
    const measured = s != null && s.spanMs >= 2 * windowMs
    // a Node service is judged on its settled RSS (after full GCs) where both probes exist: its raw
    // RSS swings by ~100 MiB with V8's young generation and the garbage awaiting collection
    const settled = inst.settled?.base != null && inst.settled?.end != null
      ? { settledBase: inst.settled.base.rss, settledEnd: inst.settled.end.rss, settledGrowthPct: (inst.settled.end.rss - inst.settled.base.rss) / inst.settled.base.rss * 100 }
      : {}
    const [base, end, pct] = settled.settledBase != null ? [settled.settledBase, settled.settledEnd, settled.settledGrowthPct] : [s?.rssBase, s?.rssEnd, s?.rssGrowthPct]
    const rssOk = !measured || pct < RSS_LIMIT_PCT || end - base < RSS_FLOOR
    const fdOk = !measured || s.fdEnd <= s.fdBase + FD_SLACK(s.fdBase)
    processes.push({ name: inst.label, role: inst.role, pid: inst.pid, from: new Date(inst.from).toISOString(), until: inst.until == null ? undefined : new Date(inst.until).toISOString(), measured, rssOk, judgedOn: settled.settledBase != null ? 'settled' : 'raw', fdOk, ...(s ?? {}), ...settled })
  }

  const failedOutside = records.filter(r => !r.ok && !inWindow(r)).length
  const failedInside = records.filter(r => !r.ok && inWindow(r)).length
  const verdicts = {
    rssGrowthUnder10Pct: processes.every(p => p.rssOk),
    fdsFlat: processes.every(p => p.fdOk),
    zeroWrongBytes: wrong.length === 0,
    relaysRecovered: restarts.every(r => r.failed == null) && failedOutside === 0
  }

  // ---- report --------------------------------------------------------------------------------
  console.log('')
  console.log(`soak: ${((loadEnd - loadStart) / 60_000).toFixed(1)} min of load (${cfg.warmupMinutes} min warm-up), ${cfg.edges} edges, ${cfg.relays} relays, ${restarts.length} relay restarts`)
  console.log('')
  console.log('process      RSS MiB: base    end    max growth 2nd half | settled: base    end  growth | young: base  end | heap used: base   end | external: base   end | FD: base  end  max | span min')
  for (const p of processes) {
    if (p.samples == null) { console.log(`${p.name.padEnd(12)} (no sample after warm-up)`); continue }
    const mark = p.measured ? (p.rssOk && p.fdOk ? '' : '  <-- FAIL') : '  (too short to judge)'
    const pct = (x) => x == null ? '-' : `${x.toFixed(1)} %`
    console.log(`${p.name.padEnd(12)} ${mib(p.rssBase).padStart(13)} ${mib(p.rssEnd).padStart(6)} ${mib(p.rssMax).padStart(6)} ${pct(p.rssGrowthPct).padStart(8)} ${pct(p.rssSecondHalfGrowthPct).padStart(8)} | ${opt(p.settledBase).padStart(13)} ${opt(p.settledEnd).padStart(6)} ${pct(p.settledGrowthPct).padStart(7)} | ${opt(p.youngBase).padStart(11)} ${opt(p.youngEnd).padStart(5)} | ${opt(p.heapBase).padStart(15)} ${opt(p.heapEnd).padStart(5)} | ${opt(p.externalBase).padStart(14)} ${opt(p.externalEnd).padStart(5)} | ${String(p.fdBase).padStart(8)} ${String(p.fdEnd).padStart(4)} ${String(p.fdMax).padStart(4)} | ${(p.spanMs / 60_000).toFixed(1).padStart(8)}${mark}`)
  }
  console.log(`(MiB; base/end: medians over the first/last ${cfg.windowSeconds} s measured, from the end of warm-up or a restarted relay's start + ${cfg.relaySettleSeconds} s;`)
  console.log(' 2nd half: end vs the median at the middle of the span; settled: RSS after three full GCs through the inspector at the start and the end of');
  console.log(' the measured span, what a Node service is judged on when both exist; young: V8\'s young generation, committed, grown in doubling steps up to its cap)')
  console.log('')
  console.log('kind        requests      ok   MB moved | TTFB ms after warm-up: p50    p95    p99    max | errors (restart windows apart)')
  for (const kind of kinds) {
    const k = perKind[kind]
    const errs = Object.entries(k.errors).map(([e, n]) => `${e} ${n}`).join(', ') || '0'
    const errsIn = Object.entries(k.errorsInRestartWindows).map(([e, n]) => `${e} ${n}`).join(', ') || '0'
    const t = kind === 'publish' ? k.durationMs : k.ttfbMs
    console.log(`${kind.padEnd(11)} ${String(k.requests).padStart(8)} ${String(k.ok).padStart(7)} ${(k.bytes / 1e6).toFixed(0).padStart(10)} | ${kind === 'publish' ? '  (publish duration)' : '                    '} ${ms(t.p50).padStart(6)} ${ms(kind === 'publish' ? NaN : t.p95).padStart(6)} ${ms(t.p99).padStart(6)} ${ms(kind === 'publish' ? NaN : t.max).padStart(6)} | ${errs}  (in windows: ${errsIn})`)
  }
  console.log('')
  console.log('relay restarts:')
  for (const r of restarts) console.log(`  ${r.at} ${r.relay} ${r.signal}: exited in ${r.exitMs} ms${r.forced ? ` (${r.forced})` : ''}, ${r.failed ?? `ready in ${r.readyMs} ms`}, peers after ${cfg.restartGraceSeconds} s: ${r.connectedPeersAfterGrace ?? '-'}`)
  if (failureTexts.length > 0) {
    console.log('first failures:')
    for (const f of failureTexts) console.log(`  ${f.at} ${f.kind} @${f.edge} ${f.error} after ${f.ms} ms${f.inRestartWindow ? ' (restart window)' : ''}: ${String(f.detail ?? '').slice(0, 160)}`)
  }
  for (const w of wrong) console.log(`WRONG BYTES ${JSON.stringify(w)}`)
  console.log('')
  console.log(`verdict: RSS growth < ${RSS_LIMIT_PCT} % (or < ${RSS_FLOOR / MiB} MiB) after warm-up for every process (settled RSS for the Node services, raw medians for the others): ${verdicts.rssGrowthUnder10Pct ? 'PASS' : 'FAIL'}`)
  console.log(`verdict: file descriptors flat (end <= base + max(10, 5 %)): ${verdicts.fdsFlat ? 'PASS' : 'FAIL'}`)
  console.log(`verdict: zero wrong bytes (${records.filter(r => r.ok).length} bodies checked): ${verdicts.zeroWrongBytes ? 'PASS' : `FAIL (${wrong.length})`}`)
  console.log(`verdict: relays recovered, no failed request outside restart windows (${failedOutside} outside, ${failedInside} inside): ${verdicts.relaysRecovered ? 'PASS' : 'FAIL'}`)
  console.log(JSON.stringify({ bench: 'soak', settings: cfg, loadMinutes: (loadEnd - loadStart) / 60_000, verdicts, perKind, processes, restarts, wrongBytes: wrong, failedOutsideRestartWindows: failedOutside, failedInsideRestartWindows: failedInside, failures: failureTexts }))
  exitCode = Object.values(verdicts).every(Boolean) ? 0 : 1
} catch (err) {
  console.error(err?.stack ?? err)
  exitCode = 1
} finally {
  await cleanup()
}
process.exit(exitCode)
