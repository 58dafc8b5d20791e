/**
 * One worker process of the DHT benchmark (bench/dht.bench.mjs): hosts a share of the N
 * libp2p nodes on loopback and runs what the parent asks over the fork IPC channel.
 *
 * Protocol: the parent sends `{ id, cmd, ...args }`; the worker answers `{ id, ok: true, result }`
 * or `{ id, ok: false, error }`. Timestamps are absolute ms (`performance.timeOrigin +
 * performance.now()`), so figures from different workers share one clock on this machine.
 *
 *   start   { first, count, seeds, refresh? }   create + start `count` nodes (global indexes from
 *                                           `first`); node i bootstraps to seeds[i % seeds.length]
 *                                           (full multiaddrs); with no seeds it is the first seed;
 *                                           `refresh`: start the managers' refresh timers at once
 *   startRefresh {}                         start every manager's refresh timer (every
 *                                           BENCH_DHT_CHURN_REFRESH_S ± 10 %)
 *   kill    { indexes }                     stop these nodes (churn) and forget them
 *   warm    { concurrency, only? }          each node (or those in `only`) joins: a closest-peers
 *                                           lookup of its own key (Kademlia §2.3) — with the
 *                                           manager, its refresh(): own key, then a random key
 *   idle    { ms, tag? }                    this worker's CPU and event-loop delay while idle
 *   stats   { dead? }                       routing-table sizes, open connections, connections
 *                                           pruned / peak per node; with `dead` (peer IDs), how
 *                                           many table entries are dead peers
 *   mem     {}                              rss / heapUsed (after a GC), minus the baseline
 *   provide { node, cid }                   one node provides `cid`; returns start/end times
 *   holders { cid }                         nodes here whose local provider store holds `cid`,
 *                                           with the time the record landed
 *   lookups { tasks: [{ node, cid, expect }], concurrency, tag? }   findProviders, timed to the
 *                                           first provider `expect`, with hops, per-RPC timings,
 *                                           fresh vs reused connections and failed-RPC kinds
 *   (with `tag` and BENCH_DHT_PROFILE_DIR, idle and lookups also write a CPU profile)
 *   stop    {}                              stop every node, then exit
 *
 * Backend: `@codio/dht`'s DhtManager when its build exists (BENCH_DHT_BACKEND=auto, default),
 * else libp2p kad-dht directly (BENCH_DHT_BACKEND=kad forces it).
 */
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import { join } from 'node:path'
import { performance, monitorEventLoopDelay } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { createP2PNode } from '@codio/p2p'

const now = () => performance.timeOrigin + performance.now()
const dhtDist = fileURLToPath(new URL('../libs/dht/dist/index.js', import.meta.url))
const backendWanted = process.env.BENCH_DHT_BACKEND ?? 'auto'
const QUERY_TIMEOUT_MS = Number(process.env.BENCH_DHT_QUERY_TIMEOUT_MS ?? 10_000)
// experiment only, not what a Codio node runs: override the kad-dht query fan-out createP2PNode
// configured (α, disjoint paths) on the built node to see what it does to the figures
const ALPHA = process.env.BENCH_DHT_ALPHA == null ? undefined : Number(process.env.BENCH_DHT_ALPHA)
const PATHS = process.env.BENCH_DHT_PATHS == null ? undefined : Number(process.env.BENCH_DHT_PATHS)
// createP2PNode options, unset = the node's defaults (what a Codio node runs with)
const MAX_CONNECTIONS = process.env.BENCH_DHT_MAX_CONNECTIONS == null ? undefined : Number(process.env.BENCH_DHT_MAX_CONNECTIONS)
const PING_INTERVAL_MS = process.env.BENCH_DHT_PING_INTERVAL_MS == null ? undefined : Number(process.env.BENCH_DHT_PING_INTERVAL_MS)
// the managers' refresh interval; their timers run only from the churn phase on (startRefresh)
const REFRESH_MS = Number(process.env.BENCH_DHT_CHURN_REFRESH_S ?? 30) * 1000

const PROFILE_DIR = process.env.BENCH_DHT_PROFILE_DIR

/** Runs `fn`; with BENCH_DHT_PROFILE_DIR set, writes a CPU profile of it (open in Chrome DevTools). */
async function profiled (name, fn) {
  if (PROFILE_DIR == null) return await fn()
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.start')
  try {
    return await fn()
  } finally {
    const { profile } = await session.post('Profiler.stop')
    session.disconnect()
    await mkdir(PROFILE_DIR, { recursive: true })
    await writeFile(join(PROFILE_DIR, `${name}-pid${process.pid}.cpuprofile`), JSON.stringify(profile))
  }
}

if (process.send == null) {
  console.error('dht-worker.mjs is started by bench/dht.bench.mjs (child_process.fork)')
  process.exit(2)
}
// the parent died or closed the channel: nothing else will stop these nodes
process.on('disconnect', () => process.exit(0))

/** @type {{ index: number, node: any, dht: any, manager?: any, added: Map<string, number> }[]} */
const nodes = []
let backend = 'kad'
let DhtManager
globalThis.gc?.()
const baseline = process.memoryUsage()
const loopDelay = monitorEventLoopDelay({ resolution: 5 })
loopDelay.enable()

async function loadBackend () {
  if (backendWanted === 'kad') return
  if (!existsSync(dhtDist)) {
    if (backendWanted === 'manager') throw new Error(`BENCH_DHT_BACKEND=manager but ${dhtDist} does not exist (build libs/dht)`)
    return
  }
  const mod = await import('@codio/dht')
  if (typeof mod.DhtManager !== 'function') {
    if (backendWanted === 'manager') throw new Error('@codio/dht has no DhtManager export')
    return
  }
  DhtManager = mod.DhtManager
  backend = 'manager'
}

const mhKey = (cid) => Buffer.from(cid.multihash.bytes).toString('hex')

const byIndex = (i) => {
  const n = nodes.find(x => x.index === i)
  if (n == null) throw new Error(`node ${i} is not in this worker`)
  return n
}

/**
 * Records when each provider record lands in a node's local store: wraps kad-dht's
 * `Providers.addProvider` (called by the ADD_PROVIDER RPC handler and by a node's own provide);
 * the time is taken after the datastore write resolves. Cheaper and exacter than polling
 * `getProviders` (a full datastore scan) every 10 ms on every node; `holders` re-reads the store
 * to confirm.
 */
function watchProviderStore (entry) {
  const store = entry.dht.providers
  const original = store.addProvider.bind(store)
  store.addProvider = async (cid, provider, options) => {
    await original(cid, provider, options)
    // the ADD_PROVIDER handler decodes the key as a CID v0, a node's own provide keeps v1:
    // key by multihash, as the store itself does
    const key = mhKey(cid)
    if (!entry.added.has(key)) entry.added.set(key, now())
  }
}

async function start ({ first, count, seeds = [], refresh = false }) {
  await loadBackend()
  const out = []
  for (let k = 0; k < count; k++) {
    const node = await createP2PNode({
      privateKey: await generateKeyPair('Ed25519'),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      quic: false,
      bootstrap: seeds.length === 0 ? [] : [seeds[(first + k) % seeds.length]],
      ...(MAX_CONNECTIONS != null ? { maxConnections: MAX_CONNECTIONS } : {}),
      ...(PING_INTERVAL_MS != null ? { pingIntervalMs: PING_INTERVAL_MS } : {})
    })
    const entry = { index: first + k, node, dht: node.services.dht, added: new Map() }
    nodes.push(entry) // registered before start: `stop` reaches it whatever happens next
    await node.start()
    watchProviderStore(entry)
    if (ALPHA != null) entry.dht.queryManager.alpha = ALPHA
    if (PATHS != null) entry.dht.queryManager.disjointPaths = PATHS
    if (backend === 'manager') {
      entry.manager = new DhtManager(node, { queryTimeoutMs: QUERY_TIMEOUT_MS, refreshIntervalMs: REFRESH_MS })
      if (refresh) entry.manager.start()
    }
    out.push({ index: entry.index, peerId: node.peerId.toString(), addr: node.getMultiaddrs().find(a => a.toString().includes('/tcp/')).toString() })
    // a whole worker's nodes dialling the seed in one tick is a burst, not a join
    if (seeds.length > 0) await new Promise(resolve => setTimeout(resolve, 20))
  }
  const qm = nodes[0]?.dht.queryManager
  const limit = nodes[0]?.node.services.peers.connectionLimit?.()
  return {
    backend,
    alpha: qm?.alpha ?? null,
    disjointPaths: qm?.disjointPaths ?? null,
    nodes: out,
    maxConnections: limit?.maxConnections ?? nodes[0]?.node.components?.connectionManager?.getMaxConnections?.() ?? null,
    hardMaxConnections: nodes[0]?.node.components?.connectionManager?.getMaxConnections?.() ?? null
  }
}

function startRefresh () {
  for (const e of nodes) e.manager?.start()
  return { started: nodes.filter(e => e.manager != null).length }
}

async function kill ({ indexes }) {
  const victims = nodes.filter(e => indexes.includes(e.index))
  await Promise.allSettled(victims.map(async e => {
    e.manager?.stop()
    await e.node.stop()
  }))
  for (const e of victims) nodes.splice(nodes.indexOf(e), 1)
  return { killed: victims.map(e => e.index) }
}

async function pool (items, concurrency, fn) {
  let next = 0
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const i = next++
      await fn(items[i], i)
    }
  }))
}

async function drain (iterable) {
  // eslint-disable-next-line no-unused-vars
  for await (const _ of iterable) {}
}

async function warm ({ concurrency, only }) {
  const t0 = now()
  const errors = []
  const which = only == null ? nodes : nodes.filter(e => only.includes(e.index))
  await pool(which, concurrency, async (e) => {
    try {
      if (e.manager != null) await e.manager.refresh()
      else await drain(e.dht.getClosestPeers(e.node.peerId.toMultihash().bytes, { signal: AbortSignal.timeout(QUERY_TIMEOUT_MS) }))
    } catch (err) {
      errors.push(`${e.index}: ${err.message}`)
    }
  })
  return { ms: now() - t0, errors }
}

/** CPU and event-loop delay of this worker over `ms` with nothing asked of it (background load). */
async function idle ({ ms, tag = '' }) {
  loopDelay.reset()
  const cpu0 = process.cpuUsage()
  const t0 = now()
  await profiled(`idle${tag}`, () => new Promise(resolve => setTimeout(resolve, ms)))
  const cpu = process.cpuUsage(cpu0)
  return { cpuShare: (cpu.user + cpu.system) / 1000 / (now() - t0), loopDelayP50Ms: loopDelay.percentile(50) / 1e6, loopDelayP99Ms: loopDelay.percentile(99) / 1e6 }
}

function stats ({ dead } = {}) {
  const deadSet = new Set(dead ?? [])
  return nodes.map(e => {
    const limit = e.node.services.peers.connectionLimit?.()
    let deadInRt = 0
    // each dead entry still held: seconds since kad-dht last pinged it and since the manager last
    // heard from it, whether the manager holds a strike or a suspicion against it (private
    // fields, read for the diagnosis only), and the status of any connection still open to it
    // (a liveness check skips connected peers)
    const deadDetail = []
    const t = Date.now()
    if (deadSet.size > 0) {
      for (const p of e.dht.routingTable.kb.toIterable()) {
        const key = p.peerId.toString()
        if (!deadSet.has(key)) continue
        deadInRt++
        const heard = e.manager?.heardFrom?.get(key)
        deadDetail.push({ pingAgoS: p.lastPing > 0 ? Math.round((t - p.lastPing) / 1000) : null, heardAgoS: heard != null ? Math.round((t - heard) / 1000) : null, strike: e.manager?.strikes?.has(key) ?? null, suspect: e.manager?.suspects?.has(key) ?? null, connections: e.node.getConnections(p.peerId).map(c => c.status) })
      }
    }
    return {
      index: e.index,
      rt: e.dht.routingTable.size,
      deadInRt,
      conns: e.node.getConnections().length,
      pruned: limit?.pruned ?? null,
      peak: limit?.peak ?? null,
      evicted: e.manager?.stats().evicted ?? null,
      refreshes: e.manager?.stats().refreshes ?? null,
      refreshErrors: e.manager?.stats().refreshErrors ?? null,
      deadDetail
    }
  })
}

function mem () {
  globalThis.gc?.()
  const m = process.memoryUsage()
  return { nodes: nodes.length, rss: m.rss, heapUsed: m.heapUsed, baselineRss: baseline.rss, baselineHeapUsed: baseline.heapUsed }
}

async function provide ({ node, cid }) {
  const e = byIndex(node)
  const key = CID.parse(cid)
  const cpu0 = process.cpuUsage()
  const t0 = now()
  let acks = 0
  let failures = 0
  let error
  const timer = rpcTimer(e.node)
  const onEvent = (ev) => {
    timer.onEvent(ev)
    if (ev.name === 'QUERY_ERROR') failures++
  }
  try {
    if (e.manager != null) {
      acks = (await e.manager.provide(key, { onQueryEvent: onEvent })).holders
    } else {
      for await (const ev of e.dht.provide(key, { signal: AbortSignal.timeout(QUERY_TIMEOUT_MS) })) {
        onEvent(ev)
        if (ev.name === 'PEER_RESPONSE' && ev.messageName === 'ADD_PROVIDER') acks++
      }
    }
  } catch (err) {
    // a provide cut by the time limit is a figure (it missed), not the end of the run
    error = `${err.name}: ${err.message}`
  }
  const t1 = now()
  const cpu = process.cpuUsage(cpu0)
  return { t0, t1, acks, failures, errorKinds: timer.errorKinds, dials: timer.dials, error, cpuMs: (cpu.user + cpu.system) / 1000 }
}

async function holders ({ cid }) {
  const key = CID.parse(cid)
  const out = []
  for (const e of nodes) {
    const t = e.added.get(mhKey(key))
    if (t == null) continue
    // confirm against the store itself, not only our record of the write
    const provs = await e.dht.providers.getProviders(key)
    if (provs.length > 0) out.push({ index: e.index, t })
  }
  return out
}

/**
 * Per-RPC timings from kad-dht query events: stream open = DIAL_PEER → SEND_QUERY (a new
 * connection's dial + Noise + Yamux, or just a stream and multistream-select on an open one),
 * RPC = SEND_QUERY → PEER_RESPONSE (request written, response read).
 */
function rpcTimer (node) {
  const dialAt = new Map()
  const dials = { reused: 0, fresh: 0 }
  const sentAt = new Map()
  const openMs = []
  const rpcMs = []
  const errorKinds = {}
  // every dial, send, answer and error with its time, ms since the first event: a failed lookup's trail
  const trail = []
  const t0 = now()
  return {
    openMs,
    rpcMs,
    errorKinds,
    dials,
    trail,
    onEvent (ev) {
      const t = now()
      if (ev.name === 'DIAL_PEER' || ev.name === 'SEND_QUERY' || ev.name === 'PEER_RESPONSE' || ev.name === 'QUERY_ERROR') {
        const peer = (ev.peer ?? ev.to ?? ev.from)?.toString().slice(-6)
        trail.push(`${Math.round(t - t0)} ${ev.name} ${peer}${ev.name === 'QUERY_ERROR' ? ` ${ev.error?.name}: ${String(ev.error?.message ?? '').slice(0, 50)}` : ''}`)
      }
      if (ev.name === 'QUERY_ERROR') {
        const kind = `${ev.error?.name ?? 'Error'}: ${String(ev.error?.message ?? '').slice(0, 60)}`
        errorKinds[kind] = (errorKinds[kind] ?? 0) + 1
      }
      if (ev.name === 'DIAL_PEER') {
        dialAt.set(ev.peer.toString(), t)
        // an open connection to it already? (else this RPC pays a TCP dial + Noise + Yamux + identify)
        if (node.getConnections(ev.peer).length > 0) dials.reused++
        else dials.fresh++
      }
      else if (ev.name === 'SEND_QUERY') {
        const p = ev.to.toString()
        sentAt.set(p, t)
        if (dialAt.has(p)) openMs.push(t - dialAt.get(p))
      } else if (ev.name === 'PEER_RESPONSE') {
        const p = ev.from.toString()
        if (sentAt.has(p)) rpcMs.push(t - sentAt.get(p))
      }
    }
  }
}

/**
 * Hops of a lookup (kad backend; @codio/dht's LookupTracer defines them the same way): the
 * starting peers (the K routing-table peers closest to the key, what kad-dht's QueryManager
 * seeds its disjoint paths with) are hop 1; a peer first named in a hop-h peer's `closer` list
 * is hop h + 1. The lookup's hops = the hop of the peer whose response carried the first
 * provider (0 when the node's own store answered).
 */
function hopOf (target, starting, closerOf) {
  const depth = new Map(starting.map(p => [p, 1]))
  const frontier = [...starting]
  while (frontier.length > 0) {
    const p = frontier.shift()
    for (const c of closerOf.get(p) ?? []) {
      if (!depth.has(c)) {
        depth.set(c, depth.get(p) + 1)
        frontier.push(c)
      }
    }
  }
  return depth.get(target) ?? null
}

/** findProviders on kad-dht directly, stopped at the first provider `expect`. */
async function lookupKad (e, key, expect) {
  const kadId = (await sha256.digest(key.multihash.bytes)).digest
  const starting = e.dht.routingTable.closestPeers(kadId, { count: e.dht.routingTable.kBucketSize }).map(p => p.toString())
  const timer = rpcTimer(e.node)
  const closerOf = new Map()
  const contacted = new Set()
  let errors = 0
  const controller = new AbortController()
  const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(QUERY_TIMEOUT_MS)])
  const t0 = now()
  let first = null
  try {
    for await (const ev of e.dht.findProviders(key, { signal })) {
      timer.onEvent(ev)
      if (ev.name === 'SEND_QUERY') contacted.add(ev.to.toString())
      else if (ev.name === 'PEER_RESPONSE') closerOf.set(ev.from.toString(), (ev.closer ?? []).map(c => c.id.toString()))
      else if (ev.name === 'QUERY_ERROR') errors++
      else if (ev.name === 'PROVIDER' && ev.providers.some(p => p.id.toString() === expect)) {
        const from = ev.from.toString()
        const local = from === e.node.peerId.toString()
        first = { ms: now() - t0, local, hops: local ? 0 : hopOf(from, starting, closerOf) }
        break
      }
    }
  } finally {
    controller.abort()
  }
  return {
    ms: first?.ms ?? null,
    found: first != null,
    local: first?.local ?? false,
    hops: first?.hops ?? null,
    contacted: contacted.size,
    errors,
    openMs: timer.openMs,
    rpcMs: timer.rpcMs,
    errorKinds: timer.errorKinds,
    dials: timer.dials,
    totalMs: now() - t0
  }
}

/** `DhtManager.findProvidersTraced` with limit 1: latency to the first provider, hops, peers. */
async function lookupManager (e, key, expect) {
  const timer = rpcTimer(e.node)
  const tr = await e.manager.findProvidersTraced(key, { limit: 1, onQueryEvent: timer.onEvent })
  const found = tr.firstMs != null && tr.providers.some(p => p.id.toString() === expect)
  return {
    ms: found ? tr.firstMs : null,
    found,
    local: found && tr.hops === 0,
    hops: found ? tr.hops : null,
    contacted: tr.peersContactedBeforeFirst ?? tr.peersContacted,
    errors: tr.failures,
    timedOut: tr.timedOut,
    openMs: timer.openMs,
    rpcMs: timer.rpcMs,
    errorKinds: timer.errorKinds,
    dials: timer.dials,
    trail: found ? undefined : timer.trail,
    totalMs: tr.totalMs
  }
}

async function lookups ({ tasks, concurrency, tag }) {
  loopDelay.reset()
  const cpu0 = process.cpuUsage()
  const t0 = now()
  const results = new Array(tasks.length)
  const run = (fn) => tag == null ? fn() : profiled(`lookups${tag}`, fn)
  await run(() => pool(tasks, concurrency, async (task, i) => {
    const e = byIndex(task.node)
    const key = CID.parse(task.cid)
    // from the write hook, not a store scan inside the measured window
    const heldLocally = e.added.has(mhKey(key))
    try {
      const r = e.manager != null ? await lookupManager(e, key, task.expect) : await lookupKad(e, key, task.expect)
      results[i] = { ...task, ...r, heldLocally }
    } catch (err) {
      results[i] = { ...task, ms: null, found: false, heldLocally, error: err.message }
    }
  }))
  const cpu = process.cpuUsage(cpu0)
  const wallMs = now() - t0
  return {
    results,
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    loopDelayMs: { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 }
  }
}

async function stop () {
  await Promise.allSettled(nodes.map(async e => {
    await e.manager?.stop?.()
    await e.node.stop()
  }))
  return { stopped: nodes.length }
}

const handlers = { start, startRefresh, kill, warm, idle, stats, mem, provide, holders, lookups, stop }

process.on('message', async (msg) => {
  const { id, cmd, ...args } = msg
  try {
    const h = handlers[cmd]
    if (h == null) throw new Error(`unknown command ${cmd}`)
    const result = await h(args)
    process.send({ id, ok: true, result })
    if (cmd === 'stop') process.disconnect()
  } catch (err) {
    process.send({ id, ok: false, error: err?.stack ?? String(err) })
  }
})
process.send({ ready: true, pid: process.pid })
