#!/usr/bin/env node
/**
 * Tracker benchmark: SelectPeers latency over real ConnectRPC with 10,000 peers × 1,000
 * content IDs in Redis, and the gossip messages per second one tracker absorbs from NATS.
 *
 *   npm run bench:tracker          (BENCH_RUNS=5 BENCH_CALLS=1000 BENCH_GOSSIP=10000 by default)
 *
 * Real parts only: NATS and Redis from @codio/sidecars (NATS_URL / REDIS_URL, a container, or
 * the local binaries), the built tracker as its own process (services/tracker/dist/main.js).
 * Redis is seeded through the tracker's own apply scripts (TrackerStore), i.e. exactly what
 * gossip writes. Prints a table, the CPU each process spent (what bounds the figures), then
 * one JSON line of the figures.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { connect, headers } from 'nats'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { freePort, startNats, startRedis } from '@codio/sidecars'
import {
  createTrackerRedis, encodeAvailability, encodeMetrics, availabilitySubject, metricsSubject, redisReady, TrackerClient, TrackerStore,
  validateAvailability, validateMetrics, GOSSIP_SIGNATURE_HEADER, signGossip
} from '@codio/tracker'

const root = fileURLToPath(new URL('..', import.meta.url))
const trackerMain = join(root, 'services/tracker/dist/main.js')
const PEERS = 10_000
const CONTENTS = 1_000
const HOLDERS_MIN = 100
const HOLDERS_MAX = 500
const CHUNKS = 256
const COMPLETE_SHARE = 0.7
const SELECT_COUNT = 10
const RUNS = Number(process.env.BENCH_RUNS ?? 5)
const CALLS = Number(process.env.BENCH_CALLS ?? 1000)
const GOSSIP = Number(process.env.BENCH_GOSSIP ?? 10_000)
const PUBLISHERS = 4
// our own keys only: REDIS_URL may point at a Redis others use
const KEY_PREFIX = `codio:tracker-bench:${process.pid}:`
// and our own subjects: NATS_URL may point at a NATS where real trackers listen
const SUBJECT_PREFIX = `codio.bench-${process.pid}.gossip`
const CONCURRENT_CLIENTS = 16

// ---- deterministic data --------------------------------------------------------------------
let seed = 0x9e3779b9
const rand = () => { // mulberry32
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const pick = (alphabet, n) => Array.from({ length: n }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('')
const B32 = 'abcdefghijklmnopqrstuvwxyz234567'
// real keys (from the seeded PRNG): the tracker takes only gossip signed by the peer it names
const peerKeys = await Promise.all(Array.from({ length: PEERS }, async () =>
  await generateKeyPairFromSeed('Ed25519', Uint8Array.from({ length: 32 }, () => Math.floor(rand() * 256)))))
const peerIds = peerKeys.map(k => peerIdFromPrivateKey(k).toString())
const contentIds = Array.from({ length: CONTENTS }, () => `bafybei${pick(B32, 52)}`)

function partialBitfield () {
  const bits = new Uint8Array(CHUNKS / 8)
  for (let i = 0; i < bits.length; i++) bits[i] = Math.floor(rand() * 256)
  bits[0] |= 0x80 // at least one chunk
  return bits
}

// holders of each content: a uniform 100..500 random subset of the peers
const holdings = Array.from({ length: PEERS }, () => [])
let totalHoldings = 0
const index = peerIds.map((_, i) => i)
for (const cid of contentIds) {
  const h = HOLDERS_MIN + Math.floor(rand() * (HOLDERS_MAX - HOLDERS_MIN + 1))
  for (let i = 0; i < h; i++) { // partial Fisher–Yates
    const j = i + Math.floor(rand() * (PEERS - i))
    ;[index[i], index[j]] = [index[j], index[i]]
    const complete = rand() < COMPLETE_SHARE
    holdings[index[i]].push(complete ? { contentId: cid, chunkCount: CHUNKS, complete: true } : { contentId: cid, chunkCount: CHUNKS, bitfield: partialBitfield() })
  }
  totalHoldings += h
}

function peerMetrics (i, sequence) {
  const served = Math.floor(rand() * 10_000)
  return {
    peerId: peerIds[i],
    uptimeSeconds: Math.floor(rand() * 4 * 3600),
    chunksServed: served,
    chunksFailed: Math.floor(served * rand() * 0.3),
    bytesServed: served * 2 ** 20,
    observations: Array.from({ length: 5 }, () => ({ peerId: peerIds[Math.floor(rand() * PEERS)], bytesPerSecond: 1e6 + rand() * 50e6, failures: Math.floor(rand() * 5), successes: Math.floor(rand() * 500) }))
      .filter((o, k, all) => o.peerId !== peerIds[i] && all.findIndex(x => x.peerId === o.peerId) === k),
    sequence,
    timestampMs: Date.now()
  }
}

const availabilityOf = (i, sequence) => ({
  peerId: peerIds[i],
  multiaddrs: [`/ip4/10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/tcp/4001`, `/ip4/10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/udp/4001/quic-v1`],
  roles: [i % 10 === 0 ? 'relay' : 'edge'],
  contents: holdings[i],
  sequence,
  timestampMs: Date.now()
})

// ---- helpers --------------------------------------------------------------------------------
async function pool (n, concurrency, fn) {
  let next = 0
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) await fn(next++)
  }))
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/** utime + stime of a process, seconds (Linux /proc). */
async function cpuSeconds (pid) {
  if (pid === undefined) return NaN
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return NaN
  }
}

async function cpuOf (pids) {
  const out = {}
  for (const [name, pid] of Object.entries(pids)) out[name] = name === 'bench' ? process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6 : await cpuSeconds(pid)
  return out
}
const cpuDelta = (a, b) => Object.fromEntries(Object.keys(a).map(k => [k, b[k] - a[k]]))

function counter (text, name, kind) {
  let sum = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue
    if (kind !== undefined && !line.includes(`kind="${kind}"`)) continue
    sum += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return sum
}

// ---- run ------------------------------------------------------------------------------------
const dir = await mkdtemp(join(tmpdir(), 'codio-tracker-bench-'))
const [nats, redisServer] = await Promise.all([startNats(), startRedis()])
const redis = createTrackerRedis(redisServer.url, { commandTimeoutMs: 10_000 })
let tracker
try {
  if (!await redisReady(redis, 10_000)) throw new Error('redis not ready')
  const store = new TrackerStore({ redis, keyPrefix: KEY_PREFIX })

  // seed: every peer's availability and metrics through the tracker's own apply scripts
  const s0 = performance.now()
  await pool(PEERS, 32, async (i) => { await store.applyAvailability(validateAvailability(availabilityOf(i, 1))) })
  await pool(PEERS, 32, async (i) => { await store.applyMetrics(validateMetrics(peerMetrics(i, 2))) })
  const seedSeconds = (performance.now() - s0) / 1000
  const redisMemory = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))[1])
  console.log(`seeded ${PEERS} peers × ${CONTENTS} content IDs: ${totalHoldings} holdings (${HOLDERS_MIN}–${HOLDERS_MAX} holders per content, mean ${(totalHoldings / CONTENTS).toFixed(0)}; ${CHUNKS} chunks each, ${COMPLETE_SHARE * 100}% complete) in ${seedSeconds.toFixed(1)} s, Redis ${(redisMemory / 2 ** 20).toFixed(0)} MiB`)

  // the tracker as its own process
  const [httpPort, rpcPort] = [await freePort(), await freePort()]
  const config = join(dir, 'tracker.toml')
  await writeFile(config, `name = "tracker-bench"\nlog_level = "warn"\n[http]\nport = ${httpPort}\n[rpc]\nport = ${rpcPort}\n[nats]\nservers = "${nats.url}"\nsubject_prefix = "${SUBJECT_PREFIX}"\n[redis]\nurl = "${redisServer.url}"\nkey_prefix = "${KEY_PREFIX}"\n`)
  tracker = spawn(process.execPath, [trackerMain, '--config', config], { stdio: ['ignore', 'ignore', 'inherit'] })
  const httpUrl = `http://127.0.0.1:${httpPort}`
  for (const t0 = Date.now(); ; ) {
    const ok = await fetch(`${httpUrl}/readyz`).then(r => r.status === 200, () => false)
    if (ok) break
    if (tracker.exitCode !== null || Date.now() - t0 > 20_000) throw new Error('tracker did not become ready')
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  const pids = { tracker: tracker.pid, redis: redisServer.pid, nats: nats.pid, bench: process.pid }
  const client = new TrackerClient({ baseUrl: `http://127.0.0.1:${rpcPort}`, timeoutMs: 5000 })
  const probe = await client.selectPeers(contentIds[0], SELECT_COUNT)
  if (probe.length !== SELECT_COUNT) throw new Error(`SelectPeers returned ${probe.length} peers, ${SELECT_COUNT} expected: the seed did not take`)
  const randomCall = () => client.selectPeers(contentIds[Math.floor(rand() * CONTENTS)], SELECT_COUNT, { requesterPeerId: peerIds[Math.floor(rand() * PEERS)] })

  // SelectPeers, sequential: RUNS runs of CALLS calls, p50/p99 per run, median over runs
  for (let i = 0; i < 300; i++) await randomCall() // warm-up: JIT, keep-alive connection, script cache
  const runs = []
  let returned = 0
  const selCpu0 = await cpuOf(pids)
  for (let r = 0; r < RUNS; r++) {
    const lat = []
    for (let i = 0; i < CALLS; i++) {
      const t = performance.now()
      returned += (await randomCall()).length
      lat.push(performance.now() - t)
    }
    lat.sort((a, b) => a - b)
    runs.push({ p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), mean: lat.reduce((a, b) => a + b, 0) / lat.length })
  }
  const selCpu = cpuDelta(selCpu0, await cpuOf(pids))
  const selectP50 = median(runs.map(r => r.p50))
  const selectP99 = median(runs.map(r => r.p99))
  const perCall = Object.fromEntries(Object.entries(selCpu).map(([k, v]) => [k, v / (RUNS * CALLS) * 1000]))

  // the same queries in process, store only (Redis script + ranking, no RPC), for attribution
  const inproc = []
  for (let i = 0; i < CALLS; i++) {
    const t = performance.now()
    await store.selectPeers({ contentId: contentIds[Math.floor(rand() * CONTENTS)], count: SELECT_COUNT })
    inproc.push(performance.now() - t)
  }
  inproc.sort((a, b) => a - b)

  // SelectPeers under load: CONCURRENT_CLIENTS callers for 3 s
  const loaded = []
  const until = performance.now() + 3000
  await Promise.all(Array.from({ length: CONCURRENT_CLIENTS }, async () => {
    while (performance.now() < until) {
      const t = performance.now()
      await randomCall()
      loaded.push(performance.now() - t)
    }
  }))
  loaded.sort((a, b) => a - b)
  const loadedRate = loaded.length / 3

  // gossip: PUBLISHERS connections publish as fast as they can; rate = messages the tracker
  // processed against Redis (applied or found stale) per second, from its /metrics
  const conns = await Promise.all(Array.from({ length: PUBLISHERS }, () => connect({ servers: nats.url })))
  const gossip = {}
  let sequence = 10
  for (const kind of ['availability', 'metrics']) {
    // encode and sign first so that the publishers measure NATS and the tracker (its signature
    // check included), not protobuf encoding or signing
    const messages = await Promise.all(Array.from({ length: GOSSIP }, async (_, n) => {
      const i = Math.floor(rand() * PEERS)
      const seq = ++sequence
      const [subject, data] = kind === 'availability'
        ? [availabilitySubject(peerIds[i], SUBJECT_PREFIX), encodeAvailability(availabilityOf(i, seq))]
        : [metricsSubject(peerIds[i], SUBJECT_PREFIX), encodeMetrics(peerMetrics(i, seq))]
      const h = headers()
      h.set(GOSSIP_SIGNATURE_HEADER, await signGossip(peerKeys[i], subject, data))
      return [subject, data, h]
    }))
    const bytes = messages.reduce((a, [, d]) => a + d.length, 0)
    const metricsNow = async () => (await fetch(`${httpUrl}/metrics`)).text()
    const before = await metricsNow()
    const processed0 = counter(before, 'codio_tracker_gossip_applied_total', kind) + counter(before, 'codio_tracker_gossip_stale_total', kind)
    const cpu0 = await cpuOf(pids)
    const t0 = performance.now()
    await Promise.all(conns.map(async (nc, c) => {
      for (let n = c; n < messages.length; n += PUBLISHERS) {
        nc.publish(messages[n][0], messages[n][1], { headers: messages[n][2] })
        if (n % 500 < PUBLISHERS) await new Promise(resolve => setImmediate(resolve)) // let the socket drain
      }
      await nc.flush()
    }))
    const published = performance.now() - t0
    let processed = 0
    let last = -1
    let lastChange = performance.now()
    let tEnd = performance.now()
    let text = ''
    while (processed < GOSSIP) {
      text = await metricsNow()
      processed = counter(text, 'codio_tracker_gossip_applied_total', kind) + counter(text, 'codio_tracker_gossip_stale_total', kind) - processed0
      if (processed !== last) { last = processed; lastChange = tEnd = performance.now() }
      if (performance.now() - lastChange > 3000) break // nothing more is coming: messages were dropped
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    const cpu = cpuDelta(cpu0, await cpuOf(pids))
    const seconds = (tEnd - t0) / 1000
    gossip[kind] = {
      messages: GOSSIP,
      meanBytes: Math.round(bytes / GOSSIP),
      processed,
      malformed: counter(text, 'codio_tracker_gossip_malformed_total', kind) - counter(before, 'codio_tracker_gossip_malformed_total', kind),
      applyFailures: counter(text, 'codio_tracker_gossip_apply_failures_total', kind) - counter(before, 'codio_tracker_gossip_apply_failures_total', kind),
      publishSeconds: published / 1000,
      seconds,
      perSecond: processed / seconds,
      cpuMsPerMessage: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, v / processed * 1000]))
    }
  }
  await Promise.all(conns.map(nc => nc.close()))

  // ---- report -------------------------------------------------------------------------------
  const ms = (x) => `${x.toFixed(2)} ms`
  const cpuLine = (o) => Object.entries(o).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ')
  console.log('')
  console.log(`SelectPeers (count ${SELECT_COUNT}, random content and requester), ${RUNS} runs × ${CALLS} sequential calls over ConnectRPC (HTTP/1.1):`)
  console.log('  figure                                   p50         p99')
  console.log(`  one caller, median of runs         ${ms(selectP50).padStart(10)}  ${ms(selectP99).padStart(10)}   (runs p50: ${runs.map(r => r.p50.toFixed(2)).join(' ')})`)
  console.log(`  in process, TrackerStore only      ${ms(quantile(inproc, 0.5)).padStart(10)}  ${ms(quantile(inproc, 0.99)).padStart(10)}   (Redis reads + ranking, no RPC)`)
  console.log(`  ${CONCURRENT_CLIENTS} concurrent callers               ${ms(quantile(loaded, 0.5)).padStart(10)}  ${ms(quantile(loaded, 0.99)).padStart(10)}   ${loadedRate.toFixed(0)} calls/s`)
  console.log(`  mean peers returned ${(returned / (RUNS * CALLS)).toFixed(1)}; CPU ms per call: ${cpuLine(perCall)}`)
  console.log('')
  console.log(`Gossip absorbed by one tracker (${PUBLISHERS} publishing connections, ${GOSSIP} messages per kind):`)
  console.log('  kind           bytes/msg   processed   msgs/s    CPU ms per message')
  for (const [kind, g] of Object.entries(gossip)) {
    console.log(`  ${kind.padEnd(13)} ${String(g.meanBytes).padStart(9)}  ${String(g.processed).padStart(10)}  ${g.perSecond.toFixed(0).padStart(7)}    ${cpuLine(g.cpuMsPerMessage)}`)
  }
  console.log('')
  const meanContents = totalHoldings / PEERS
  const ceiling = (cpuMs) => Math.round(1000 / cpuMs)
  console.log('What bounds them (2 cores shared by the bench client, the tracker, Redis and NATS):')
  console.log(`  SelectPeers: Redis spends ${perCall.redis.toFixed(2)} ms CPU per call (ZRANGEBYSCORE of ~${(totalHoldings / CONTENTS).toFixed(0)} holders, MGET of their load`)
  console.log('  counters and ranking records, HGETALL of their chunk counts, then the hand-out script for the chosen few): O(holders), not')
  console.log(`  O(peers) — one Redis thread, shared by every replica, tops out near ${ceiling(perCall.redis)} calls/s. The tracker spends ${perCall.tracker.toFixed(2)} ms per call`)
  console.log('  (reading ~1,000 values, ranking in JS, protobuf, HTTP/1.1); that part scales with replicas. The in-process row is the store')
  console.log('  alone; the difference to the RPC row is ConnectRPC. With 16 callers the two cores are the limit (bench + tracker + Redis).')
  console.log(`  Gossip: each message is one atomic Lua script on Redis's thread: an availability message costs ${gossip.availability.cpuMsPerMessage.redis.toFixed(3)} ms of Redis`)
  console.log(`  (~8 commands per content it lists, ${meanContents.toFixed(0)} on average here; ceiling ≈ ${ceiling(gossip.availability.cpuMsPerMessage.redis)}/s), a metrics message ${gossip.metrics.cpuMsPerMessage.redis.toFixed(3)} ms`)
  console.log(`  (ceiling ≈ ${ceiling(gossip.metrics.cpuMsPerMessage.redis)}/s). 10,000 nodes gossiping every 30 s send ~${Math.round(PEERS / 30)} messages/s of each kind.`)
  console.log(JSON.stringify({
    bench: 'tracker',
    peers: PEERS,
    contents: CONTENTS,
    holdings: totalHoldings,
    holdersPerContent: [HOLDERS_MIN, HOLDERS_MAX],
    selectCount: SELECT_COUNT,
    selectP50Ms: +selectP50.toFixed(3),
    selectP99Ms: +selectP99.toFixed(3),
    selectInProcessP50Ms: +quantile(inproc, 0.5).toFixed(3),
    selectInProcessP99Ms: +quantile(inproc, 0.99).toFixed(3),
    selectConcurrentCallsPerSecond: Math.round(loadedRate),
    selectConcurrentP50Ms: +quantile(loaded, 0.5).toFixed(3),
    selectConcurrentP99Ms: +quantile(loaded, 0.99).toFixed(3),
    gossipAvailabilityPerSecond: Math.round(gossip.availability.perSecond),
    gossipMetricsPerSecond: Math.round(gossip.metrics.perSecond),
    gossipDropped: Object.values(gossip).reduce((a, g) => a + g.messages - g.processed, 0),
    selectCpuMsPerCall: Object.fromEntries(Object.entries(perCall).map(([k, v]) => [k, +v.toFixed(3)])),
    gossipRedisCpuMsPerMessage: { availability: +gossip.availability.cpuMsPerMessage.redis.toFixed(3), metrics: +gossip.metrics.cpuMsPerMessage.redis.toFixed(3) },
    seedSeconds: +seedSeconds.toFixed(1),
    redisMemoryBytes: redisMemory
  }))
} finally {
  if (tracker !== undefined && tracker.exitCode === null) {
    tracker.kill('SIGTERM')
    await new Promise(resolve => tracker.once('exit', resolve))
  }
  if (redisServer.source === 'env') { // a server we do not own: remove what we wrote
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${KEY_PREFIX}*`, 'COUNT', 1000)
      if (keys.length > 0) await redis.unlink(...keys)
      cursor = next
    } while (cursor !== '0')
  }
  redis.disconnect()
  await Promise.all([nats.stop(), redisServer.stop()])
  await rm(dir, { recursive: true, force: true })
}
