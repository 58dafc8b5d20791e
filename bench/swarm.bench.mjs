#!/usr/bin/env node
/**
 * Swarm benchmark: one origin and N downloaders (N = 4, 8, 16), each its own OS process on
 * loopback, with upload limits set through the normal config (`[swarm] maxUploadRate`). All N
 * fetch the same F-byte content at once (the admin Prefetch call: a whole-content swarm
 * download, every chunk verified). Printed per N: the time until all N hold the whole file,
 * the fluid-model minimum T_min = max(F/u_s, F/d_min, N·F/(u_s + Σu_i)) (Kumar & Ross 2006;
 * d_min = ∞ here, downloads are not limited), their ratio, the bytes the origin uploaded, and
 * the same download with peers not uploading to each other (the origin alone), the aggregate
 * rate delivered (N·F over the time) and the CPU all processes used for it (user + system, from
 * /proc, bench/cpu.mjs) per GB delivered.
 *
 *   npm run bench:swarm
 *   BENCH_SWARM_N=4,8,16 BENCH_SWARM_MIB=128 BENCH_SWARM_ORIGIN_MBPS=50 BENCH_SWARM_PEER_MBPS=25
 *   BENCH_SWARM_DEPTH=4|adaptive BENCH_SWARM_ORIGIN_ONLY=4,8 (N values for the contrast run)
 *   BENCH_SWARM_DIR=/dev/shm (stores on tmpfs: takes per-chunk fsync out of the figures)
 *   BENCH_SWARM_CHUNK_KIB=256 (chunk size of the published content; default the origin's 1 MiB)
 *   BENCH_SWARM_TRANSPORT=quic (default tcp)
 *   BENCH_SWARM_BULK=0 (chunks on libp2p streams: the bulk channel off, `[p2p] bulk.enabled = false`)
 *   BENCH_SWARM_IDLE_SECONDS=5 (how long the idle CPU of all processes is measured before the download)
 *   BENCH_NODE_FLAGS='--flag …' (node/V8 flags of every process; default SERVICE_NODE_FLAGS of
 *   @codio/sidecars, as the local cluster and the images start services; '' for none)
 *   BENCH_CPU_PROF=<dir> (every process runs with --cpu-prof, profiles written to <dir>)
 *   BENCH_SWARM_TRACE=1 (per-process state every 2 s), BENCH_SWARM_TIMELINE=1 (chunks stored
 *   per second across all downloaders, from the block files' times, and each one's last chunk)
 *
 * Prints a table, then one JSON line of every figure.
 */
import { spawn } from 'node:child_process'
import { randomFillSync } from 'node:crypto'
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { stringify } from 'smol-toml'
import { createAdminClient } from '@codio/admin'
import { freePort, SERVICE_NODE_FLAGS } from '@codio/sidecars'
import { cpuMeter, peakRss } from './cpu.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const MB = 1e6
const MiB = 1024 * 1024
const Ns = (process.env.BENCH_SWARM_N ?? '4,8,16').split(',').map(Number)
const F = Number(process.env.BENCH_SWARM_MIB ?? 128) * MiB
const U_S = Number(process.env.BENCH_SWARM_ORIGIN_MBPS ?? 50) * MB
const U_I = Number(process.env.BENCH_SWARM_PEER_MBPS ?? 25) * MB
const DEPTH = process.env.BENCH_SWARM_DEPTH ?? '4'
const SUPER_SEED = process.env.BENCH_SWARM_SUPERSEED !== '0'
// unset: the node's default (superSeedCopies 1.5)
const SEED_COPIES = process.env.BENCH_SWARM_SEED_COPIES == null ? undefined : Number(process.env.BENCH_SWARM_SEED_COPIES)
const CHUNK_KIB = process.env.BENCH_SWARM_CHUNK_KIB
const TRANSPORT = process.env.BENCH_SWARM_TRANSPORT ?? 'tcp'
const BULK = process.env.BENCH_SWARM_BULK !== '0'
const IDLE_SECONDS = Number(process.env.BENCH_SWARM_IDLE_SECONDS ?? 5)
const ORIGIN_ONLY = new Set((process.env.BENCH_SWARM_ORIGIN_ONLY ?? '4').split(',').filter(Boolean).map(Number))

/** Spawn a service; it joins `procs` at once, so a failure anywhere still stops it. */
async function start (procs, dir, role, name, config) {
  const dataDir = join(dir, name)
  await mkdir(dataDir, { recursive: true })
  const [http, admin, port] = [await freePort(), await freePort(), await freePort()]
  const listen = TRANSPORT === 'quic' ? `/ip4/127.0.0.1/udp/${port}/quic-v1` : `/ip4/127.0.0.1/tcp/${port}`
  const full = {
    name,
    dataDir,
    logLevel: 'warn',
    http: { host: '127.0.0.1', port: http },
    admin: { host: '127.0.0.1', port: admin },
    ...config,
    p2p: { listen: [listen], quic: TRANSPORT === 'quic', bulk: { enabled: BULK }, ...config.p2p }
  }
  const configPath = join(dataDir, 'config.toml')
  await writeFile(configPath, stringify(full))
  const prof = process.env.BENCH_CPU_PROF == null ? [] : ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF, '--cpu-prof-name', `${name}.cpuprofile`]
  // as the local cluster and the images start them, unless BENCH_NODE_FLAGS says otherwise
  const flags = process.env.BENCH_NODE_FLAGS == null ? SERVICE_NODE_FLAGS : process.env.BENCH_NODE_FLAGS.split(' ').filter(Boolean)
  const child = spawn(process.execPath, [...flags, ...prof, join(root, `services/${role}/dist/main.js`), '--config', configPath], { stdio: ['ignore', 'ignore', 'pipe'] })
  const proc = { name, child }
  procs.push(proc)
  let err = ''
  child.stderr.on('data', b => { err += b.toString() })
  const deadline = Date.now() + 180_000
  while (true) {
    if (child.exitCode != null) throw new Error(`${name} exited: ${err}`)
    try {
      if ((await fetch(`http://127.0.0.1:${http}/readyz`)).ok) break
    } catch {}
    if (Date.now() > deadline) throw new Error(`${name} not ready: ${err}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  const status = await createAdminClient(`http://127.0.0.1:${admin}`).getStatus({})
  return Object.assign(proc, { http: `http://127.0.0.1:${http}`, admin: `http://127.0.0.1:${admin}`, multiaddr: `${listen}/p2p/${status.peerId}` })
}

async function stop (procs) {
  await Promise.all(procs.map(async p => {
    if (p.child.exitCode != null || p.child.signalCode != null) return
    const exited = new Promise(resolve => p.child.once('exit', resolve))
    p.child.kill('SIGTERM')
    await exited
  }))
}

/**
 * BENCH_SWARM_TRACE=1: every 2 s, per process, chunks held, bytes sent since the last sample
 * (MB/s) and session peers it unchokes / that are interested — where a swarm stalls.
 */
function traceSwarm (origin, peers, t0) {
  const last = new Map()
  const timer = setInterval(async () => {
    const cols = []
    for (const p of [origin, ...peers]) {
      try {
        const admin = createAdminClient(p.admin)
        const [status, stats] = await Promise.all([admin.getStatus({}), admin.getPeerStats({})])
        const sent = stats.peers.reduce((n, s) => n + Number(s.bytesSent), 0)
        const rate = (sent - (last.get(p.name) ?? 0)) / 2 / MB
        last.set(p.name, sent)
        const unchoked = stats.peers.filter(s => s.interested && !s.choked).length
        const interested = stats.peers.filter(s => s.interested).length
        cols.push(`${p.name.replace('peer-', 'p')}:${status.storedBlocks}b ${rate.toFixed(1)}MB/s ${unchoked}/${interested}`)
      } catch {}
    }
    console.error(`t=${((performance.now() - t0) / 1000).toFixed(0)}s ${cols.join(' | ')}`)
  }, 2000)
  return { stop: () => clearInterval(timer) }
}

/**
 * BENCH_SWARM_TIMELINE=1: chunks stored per second across all downloaders (from the block
 * files' modification times), cumulative share of the N·F total, and each peer's last chunk.
 */
async function timeline (dir, peers, t0Wall) {
  const perSecond = []
  const last = []
  for (const p of peers) {
    let latest = 0
    const blocks = join(dir, p.name, 'store', 'blocks')
    for (const shard of await readdir(blocks).catch(() => [])) {
      for (const f of await readdir(join(blocks, shard))) {
        const s = await stat(join(blocks, shard, f))
        if (s.size < 1024) continue
        const sec = Math.max(0, Math.floor((s.mtimeMs - t0Wall) / 1000))
        perSecond[sec] = (perSecond[sec] ?? 0) + 1
        latest = Math.max(latest, s.mtimeMs - t0Wall)
      }
    }
    last.push((latest / 1000).toFixed(1))
  }
  const total = perSecond.reduce((a, b) => a + (b ?? 0), 0)
  let cum = 0
  const cols = []
  for (let s = 0; s < perSecond.length; s++) {
    cum += perSecond[s] ?? 0
    cols.push(`${s}:${perSecond[s] ?? 0}(${Math.round(cum / total * 100)}%)`)
  }
  console.error(`chunks stored per second: ${cols.join(' ')}`)
  console.error(`each peer's last chunk (s): ${last.join(' ')}`)
}

async function metric (url, name) {
  const text = await (await fetch(`${url}/metrics`)).text()
  // summed over its series (by peer_role)
  return text.split('\n').filter(l => l.startsWith(`${name}{`) || l.startsWith(`${name} `)).reduce((n, l) => n + Number(l.split(' ').pop()), 0)
}

const payload = Buffer.alloc(F)
randomFillSync(payload)

async function run (n, originOnly) {
  const dir = await mkdtemp(join(process.env.BENCH_SWARM_DIR ?? tmpdir(), 'codio-swarm-bench-'))
  const procs = []
  try {
    const keyFile = join(dir, 'publisher.jwk')
    const origin = await start(procs, dir, 'origin', 'origin', { publisher: { keyFile }, swarm: { maxUploadRate: U_S, superSeeding: SUPER_SEED, ...(SEED_COPIES == null ? {} : { superSeedCopies: SEED_COPIES }) } })
    const put = await fetch(`${origin.http}/content?fec=none${CHUNK_KIB == null ? '' : `&chunkSize=${Number(CHUNK_KIB) * 1024}`}`, { method: 'PUT', body: payload, headers: { 'content-type': 'application/octet-stream' } })
    const { cid } = await put.json()
    // started four at a time: 16 node processes booting at once on 2 cores time out
    const peers = []
    for (let i = 0; i < n; i += 4) {
      const batch = await Promise.all(Array.from({ length: Math.min(4, n - i) }, async (_, j) => await start(procs, dir, 'relay', `peer-${i + j + 1}`, {
        p2p: { bootstrap: [origin.multiaddr] },
        trust: { publisherKeys: [keyFile] },
        fetch: { perPeerInFlight: DEPTH === 'adaptive' ? 'adaptive' : Number(DEPTH) },
        swarm: originOnly
          ? { maxUploadRate: U_I, regularUnchokeSlots: 0, optimisticUnchokeSlots: 0 }
          : { maxUploadRate: U_I }
      })))
      peers.push(...batch)
    }
    const servedBefore = await metric(origin.http, 'codio_swarm_sent_bytes_total')
    const named = procs.map(p => ({ name: p.name, pid: p.child.pid }))
    // what the processes burn doing nothing (timers, keep-alive, DHT upkeep), before the download
    const idle = await cpuMeter(named)
    await new Promise(resolve => setTimeout(resolve, IDLE_SECONDS * 1000))
    const idleCpu = await idle.stop()
    const meter = await cpuMeter(named)
    const t0 = performance.now()
    const t0Wall = Date.now()
    const trace = process.env.BENCH_SWARM_TRACE === '1' ? traceSwarm(origin, peers, t0) : undefined
    const done = await Promise.all(peers.map(async p => {
      await createAdminClient(p.admin).prefetch({ contentId: cid })
      return (performance.now() - t0) / 1000
    }))
    const seconds = Math.max(...done)
    const cpu = await meter.stop()
    const rss = await Promise.all(procs.map(async p => await peakRss(p.child.pid)))
    trace?.stop()
    for (const p of peers) {
      const held = (await createAdminClient(p.admin).listContent({})).contentIds
      if (!held.includes(cid)) throw new Error(`${p.name} does not hold the content`)
    }
    const originBytes = await metric(origin.http, 'codio_swarm_sent_bytes_total') - servedBefore
    // every byte any process sent (peers' counters start at 0 with the download): over N·F, the
    // share of chunks sent twice (hedged and endgame requests, requests cancelled too late)
    const sentBytes = originBytes + (await Promise.all(peers.map(async p => await metric(p.http, 'codio_swarm_sent_bytes_total')))).reduce((a, b) => a + b, 0)
    if (process.env.BENCH_SWARM_TIMELINE === '1') await timeline(dir, peers, t0Wall)
    return { seconds, originBytes, sentBytes, perPeer: done, cpu, idleCpuPerSecond: idleCpu.total / IDLE_SECONDS, originPeakRss: rss[0], maxPeerPeakRss: Math.max(...rss.slice(1)) }
  } finally {
    await stop(procs)
    await rm(dir, { recursive: true, force: true })
  }
}

const rows = []
for (const n of Ns) {
  const tMin = Math.max(F / U_S, n * F / (U_S + n * U_I))
  const swarm = await run(n, false)
  const alone = ORIGIN_ONLY.has(n) ? await run(n, true) : undefined
  rows.push({
    n,
    seconds: Math.round(swarm.seconds * 100) / 100,
    tMinSeconds: Math.round(tMin * 100) / 100,
    ratio: Math.round(swarm.seconds / tMin * 100) / 100,
    originUploadF: Math.round(swarm.originBytes / F * 100) / 100,
    sentOverDelivered: Math.round(swarm.sentBytes / (n * F) * 1000) / 1000,
    medianPeerSeconds: Math.round([...swarm.perPeer].sort((a, b) => a - b)[Math.floor(n / 2)] * 100) / 100,
    originAloneSeconds: alone == null ? null : Math.round(alone.seconds * 100) / 100,
    originAloneBoundSeconds: Math.round(n * F / U_S * 100) / 100,
    // delivered: the N·F bytes that reached the downloaders
    aggregateMBps: Math.round(n * F / swarm.seconds / MB * 10) / 10,
    cpuSeconds: swarm.cpu.total,
    cpuSecondsPerGB: Math.round(swarm.cpu.total / (n * F / 1e9) * 100) / 100,
    // all processes together, by kind of thread (bench/cpu.mjs cpuByThread), per GB delivered
    cpuPerGBByThread: Object.fromEntries(['main', 'gc', 'pool', 'other'].map(k => [k, Math.round(Object.values(swarm.cpu.byThread).reduce((a, t) => a + t[k], 0) / (n * F / 1e9) * 100) / 100])),
    idleCpuPerSecond: Math.round(swarm.idleCpuPerSecond * 1000) / 1000,
    originCpuSeconds: swarm.cpu.byName.origin,
    originPeakRssMiB: Math.round(swarm.originPeakRss / MiB),
    maxPeerPeakRssMiB: Math.round(swarm.maxPeerPeakRss / MiB),
    medianPeerCpuSeconds: [...Object.entries(swarm.cpu.byName)].filter(([k]) => k !== 'origin').map(([, v]) => v).sort((a, b) => a - b)[Math.floor(n / 2)]
  })
  const r = rows.at(-1)
  console.error(`N=${n}: ${r.seconds} s (T_min ${r.tMinSeconds} s, ratio ${r.ratio}), origin uploaded ${r.originUploadF}·F, all sent ${r.sentOverDelivered}× what was delivered${alone ? `, origin alone ${r.originAloneSeconds} s` : ''}; ${r.aggregateMBps} MB/s delivered, ${r.cpuSecondsPerGB} CPU-s/GB (${Object.entries(r.cpuPerGBByThread).map(([k, v]) => `${k} ${v}`).join(', ')}; idle: ${r.idleCpuPerSecond} CPU-s/s)`)
}

console.log(`Swarm distribution, F = ${F / MiB} MiB, origin ${U_S / MB} MB/s, peers ${U_I / MB} MB/s each, queue depth ${DEPTH}, stores in ${process.env.BENCH_SWARM_DIR ?? tmpdir()}, separate processes on loopback (this machine)`)
console.log('   N   all hold F (s)   T_min (s)   ratio   origin upload   median peer (s)   origin alone (s)   N·F/u_s (s)   MB/s delivered   CPU-s   CPU-s/GB')
for (const r of rows) {
  console.log([
    String(r.n).padStart(4),
    String(r.seconds).padStart(16),
    String(r.tMinSeconds).padStart(11),
    String(r.ratio).padStart(7),
    `${r.originUploadF}·F`.padStart(15),
    String(r.medianPeerSeconds).padStart(17),
    String(r.originAloneSeconds ?? '-').padStart(18),
    String(r.originAloneBoundSeconds).padStart(13),
    String(r.aggregateMBps).padStart(16),
    String(r.cpuSeconds).padStart(7),
    String(r.cpuSecondsPerGB).padStart(10)
  ].join(' '))
}
console.log(JSON.stringify({ bench: 'swarm', fileMiB: F / MiB, originMBps: U_S / MB, peerMBps: U_I / MB, depth: DEPTH, bulk: BULK, storeDir: process.env.BENCH_SWARM_DIR ?? tmpdir(), rows }))
