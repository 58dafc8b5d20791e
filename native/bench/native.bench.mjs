// Benchmark of @codio/native against its baselines, measured side by side in
// the same process: every case of a group is timed round-robin, REPS times,
// and the median is reported. Throughputs are GB/s (1e9 bytes/s) per *data*
// byte (for Reed-Solomon: k x shardSize bytes per call).
//
// Single-call figures run one call at a time: sync functions on the JS
// thread, async ones with one promise in flight (one libuv worker), so they
// use one core for the coding itself. sha256Batch is the only case meant to
// use both cores. The process is not pinned, so V8's GC helper threads may run
// on the other core (this matters only for the cases that allocate).
//
// The libuv pool is limited to ONE thread (UV_THREADPOOL_SIZE=1, set before
// the pool starts), so the "pipelined" async cases (4 calls in flight) measure
// the throughput of the async APIs with all coding on one worker core, while
// the "1 in flight" cases show the latency-bound figure (thread hop each call).
//
// Run: node bench/native.bench.mjs   (env: BENCH_REPS=5, BENCH_RUN_MS=100)
// The LAST line of output is one JSON object with every figure and target.

import { createRequire } from 'node:module'
import crypto from 'node:crypto'
import os from 'node:os'
import v8 from 'node:v8'
import vm from 'node:vm'

process.env.UV_THREADPOOL_SIZE = '1'
const require = createRequire(import.meta.url)
const native = require('../index.js')

let ronomon = null
let ronomonError = null
try {
  ronomon = require('@ronomon/reed-solomon')
} catch (e) {
  ronomonError = String(e && e.message ? e.message : e)
}

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc')

const REPS = Math.max(5, Number(process.env.BENCH_REPS ?? 5))
const RUN_MS = Number(process.env.BENCH_RUN_MS ?? 100)
const K = 10
const M = 4
const MISSING = [1, 3, 5, 7] // 4 data shards missing for the rebuild cases

const now = () => Number(process.hrtime.bigint()) / 1e6 // ms
const median = xs => {
  const s = [...xs].sort((a, b) => a - b)
  const n = s.length
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
}

/** Runs fn `iters` times (awaiting if async) and returns elapsed ms. */
async function timeIt(c, iters) {
  // full GC, then a pause so concurrent sweeping of the previous case's garbage
  // does not run during this measurement
  gc()
  await new Promise(resolve => setTimeout(resolve, 15))
  const t0 = now()
  if (c.depth) {
    await pipelined(c.fn, iters, c.depth)
  } else if (c.async) {
    for (let i = 0; i < iters; i++) await c.fn()
  } else {
    const fn = c.fn
    for (let i = 0; i < iters; i++) fn()
  }
  return now() - t0
}

/** Runs `iters` async calls keeping `depth` of them in flight. */
function pipelined(fn, iters, depth) {
  return new Promise((resolve, reject) => {
    let issued = 0
    let done = 0
    const next = () => {
      if (done === iters) return resolve()
      if (issued < iters) {
        issued++
        fn().then(() => {
          done++
          next()
        }, reject)
      }
    }
    for (let i = 0; i < depth; i++) next()
  })
}

/** Picks an iteration count that makes one run last about RUN_MS. */
async function calibrate(c) {
  let iters = 1
  for (;;) {
    const ms = await timeIt(c, iters)
    if (ms >= 20 || iters >= 1 << 24) return Math.max(1, Math.ceil((iters * RUN_MS) / Math.max(ms, 1e-3)))
    iters *= ms < 2 ? 8 : 2
  }
}

/**
 * Times every case of a group round-robin, REPS times.
 * Each case: { name, fn, async?, bytes } (bytes per call).
 * Returns { name: { gbps, usPerCall, runs } }.
 */
async function group(cases) {
  for (const c of cases) {
    await timeIt(c, 3) // warm-up
    c.iters = await calibrate(c)
    c.samples = []
  }
  for (let r = 0; r < REPS; r++) {
    for (const c of cases) {
      const ms = await timeIt(c, c.iters)
      c.samples.push(ms / c.iters)
    }
  }
  const out = {}
  for (const c of cases) {
    const msPerCall = median(c.samples)
    out[c.name] = {
      usPerCall: msPerCall * 1000,
      gbps: c.bytes ? c.bytes / (msPerCall * 1e6) : null,
      runs: c.samples.length,
      itersPerRun: c.iters
    }
  }
  return out
}

const ronomonCall = (ctx, sources, targets, buf, par, bytes, parBytes) =>
  new Promise((resolve, reject) =>
    ronomon.encode(ctx, sources, targets, buf, 0, bytes, par, 0, parBytes, err => (err ? reject(err) : resolve()))
  )

const results = { rs: {}, hash: {}, tiny: {} }
const rows = []
const row = (what, size, value, unit, baseline, ratio) => rows.push({ what, size, value, unit, baseline, ratio })
const fmtSize = n => (n >= 1 << 20 ? `${n / (1 << 20)} MiB` : n >= 1024 ? `${n / 1024} KiB` : `${n} B`)
/** Fraction of the machine's CPU time used by *other* processes over `ms` (we sleep meanwhile). */
function machineBusy(ms = 1000) {
  const sum = cpus => cpus.reduce((acc, c) => {
    const t = c.times
    acc.total += t.user + t.nice + t.sys + t.idle + t.irq
    acc.idle += t.idle
    return acc
  }, { total: 0, idle: 0 })
  const a = sum(os.cpus())
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
  const b = sum(os.cpus())
  return 1 - (b.idle - a.idle) / Math.max(1, b.total - a.total)
}

const busyBefore = machineBusy()
const t0All = now()
const loadBefore = os.loadavg()[0]

// ---------------------------------------------------------------- Reed-Solomon
for (const S of [64 * 1024, 1024 * 1024]) {
  const dataBytes = K * S
  const data = Array.from({ length: K }, () => crypto.randomBytes(S))
  const dst = Array.from({ length: K }, () => Buffer.allocUnsafe(S))
  const parityInto = Array.from({ length: M }, () => Buffer.allocUnsafe(S))
  const parity = native.rsEncodeSync(data, M)
  const withHoles = [...data, ...parity].map((s, i) => (MISSING.includes(i) ? null : s))
  // correctness guard: the rebuild really rebuilds
  native.rsReconstructSync(withHoles, K).forEach((d, i) => {
    if (!d.equals(data[i])) throw new Error('rebuild mismatch')
  })

  const cases = [
    { name: 'copy', bytes: dataBytes, fn: () => { for (let j = 0; j < K; j++) data[j].copy(dst[j]) } },
    { name: 'encodeSync', bytes: dataBytes, fn: () => native.rsEncodeSync(data, M) },
    { name: 'encodeIntoSync', bytes: dataBytes, fn: () => native.rsEncodeIntoSync(data, parityInto) },
    { name: 'encodeAsync', bytes: dataBytes, async: true, fn: () => native.rsEncode(data, M) },
    { name: 'encodeAsyncPipelined', bytes: dataBytes, async: true, depth: 4, fn: () => native.rsEncode(data, M) },
    { name: 'rebuildSync', bytes: dataBytes, fn: () => native.rsReconstructSync(withHoles, K) },
    { name: 'rebuildAsync', bytes: dataBytes, async: true, fn: () => native.rsReconstruct(withHoles, K) },
    { name: 'rebuildAsyncPipelined', bytes: dataBytes, async: true, depth: 4, fn: () => native.rsReconstruct(withHoles, K) }
  ]
  if (ronomon) {
    const ctx = ronomon.create(K, M)
    const rbuf = Buffer.concat(data)
    const rpar = Buffer.alloc(M * S)
    let dataBits = 0
    for (let i = 0; i < K; i++) dataBits |= 1 << i
    let parityBits = 0
    for (let i = K; i < K + M; i++) parityBits |= 1 << i
    let missBits = 0
    for (const i of MISSING) missBits |= 1 << i
    const presentBits = ((dataBits | parityBits) & ~missBits) >>> 0
    await ronomonCall(ctx, dataBits, parityBits, rbuf, rpar, dataBytes, M * S)
    // sanity: ronomon really rebuilds the 4 data shards
    for (const i of MISSING) rbuf.fill(0, i * S, (i + 1) * S)
    await ronomonCall(ctx, presentBits, missBits, rbuf, rpar, dataBytes, M * S)
    if (!rbuf.equals(Buffer.concat(data))) throw new Error('ronomon rebuild mismatch')
    cases.push(
      { name: 'ronomonEncode', bytes: dataBytes, async: true, fn: () => ronomonCall(ctx, dataBits, parityBits, rbuf, rpar, dataBytes, M * S) },
      { name: 'ronomonRebuild', bytes: dataBytes, async: true, fn: () => ronomonCall(ctx, presentBits, missBits, rbuf, rpar, dataBytes, M * S) },
      // pipelined: separate buffers per in-flight call so calls don't share memory
      ...(() => {
        const slots = Array.from({ length: 4 }, () => ({ buf: Buffer.from(rbuf), par: Buffer.from(rpar) }))
        let e = 0
        let r = 0
        return [
          { name: 'ronomonEncodePipelined', bytes: dataBytes, async: true, depth: 4, fn: () => { const s = slots[e++ & 3]; return ronomonCall(ctx, dataBits, parityBits, s.buf, s.par, dataBytes, M * S) } },
          { name: 'ronomonRebuildPipelined', bytes: dataBytes, async: true, depth: 4, fn: () => { const s = slots[r++ & 3]; return ronomonCall(ctx, presentBits, missBits, s.buf, s.par, dataBytes, M * S) } }
        ]
      })()
    )
  }
  const r = await group(cases)
  const g = name => (r[name] ? r[name].gbps : null)
  const ratio = (a, b) => (a != null && b != null ? a / b : null)
  const key = S === 65536 ? '64KiB' : '1MiB'
  results.rs[key] = {
    copyGBps: g('copy'),
    encodeSyncGBps: g('encodeSync'),
    encodeIntoSyncGBps: g('encodeIntoSync'),
    encodeAsyncGBps: g('encodeAsync'),
    encodeAsyncPipelinedGBps: g('encodeAsyncPipelined'),
    ronomonEncodePipelinedGBps: g('ronomonEncodePipelined'),
    rebuildAsyncPipelinedGBps: g('rebuildAsyncPipelined'),
    ronomonRebuildPipelinedGBps: g('ronomonRebuildPipelined'),
    encodeAsyncPipelinedVsRonomon: ratio(g('encodeAsyncPipelined'), g('ronomonEncodePipelined')),
    rebuildAsyncPipelinedVsRonomon: ratio(g('rebuildAsyncPipelined'), g('ronomonRebuildPipelined')),
    rebuildSyncGBps: g('rebuildSync'),
    rebuildAsyncGBps: g('rebuildAsync'),
    ronomonEncodeGBps: g('ronomonEncode'),
    ronomonRebuildGBps: g('ronomonRebuild'),
    encodeAsyncVsRonomon: ratio(g('encodeAsync'), g('ronomonEncode')),
    encodeSyncVsRonomon: ratio(g('encodeSync'), g('ronomonEncode')),
    rebuildAsyncVsRonomon: ratio(g('rebuildAsync'), g('ronomonRebuild')),
    rebuildSyncVsRonomon: ratio(g('rebuildSync'), g('ronomonRebuild')),
    encodeSyncVsCopy: ratio(g('encodeSync'), g('copy')),
    encodeIntoSyncVsCopy: ratio(g('encodeIntoSync'), g('copy')),
    encodeAsyncVsCopy: ratio(g('encodeAsync'), g('copy'))
  }
  const z = results.rs[key]
  const sz = `10+4 x ${fmtSize(S)}`
  row('Buffer.copy of the data shards', sz, z.copyGBps, 'GB/s', '', null)
  row('@ronomon/reed-solomon encode (async)', sz, z.ronomonEncodeGBps, 'GB/s', '', null)
  row('rsEncode (async, 1 in flight)', sz, z.encodeAsyncGBps, 'GB/s', 'ronomon', z.encodeAsyncVsRonomon)
  row('@ronomon encode (async, 4 in flight, 1 worker)', sz, z.ronomonEncodePipelinedGBps, 'GB/s', '', null)
  row('rsEncode (async, 4 in flight, 1 worker)', sz, z.encodeAsyncPipelinedGBps, 'GB/s', 'ronomon pipel.', z.encodeAsyncPipelinedVsRonomon)
  row('rsEncodeSync', sz, z.encodeSyncGBps, 'GB/s', 'ronomon', z.encodeSyncVsRonomon)
  row('rsEncodeSync', sz, z.encodeSyncGBps, 'GB/s', 'Buffer.copy', z.encodeSyncVsCopy)
  row('rsEncodeIntoSync (preallocated parity)', sz, z.encodeIntoSyncGBps, 'GB/s', 'Buffer.copy', z.encodeIntoSyncVsCopy)
  row('@ronomon/reed-solomon rebuild 4 data (async)', sz, z.ronomonRebuildGBps, 'GB/s', '', null)
  row('rsReconstruct 4 data missing (async)', sz, z.rebuildAsyncGBps, 'GB/s', 'ronomon', z.rebuildAsyncVsRonomon)
  row('@ronomon rebuild (async, 4 in flight, 1 worker)', sz, z.ronomonRebuildPipelinedGBps, 'GB/s', '', null)
  row('rsReconstruct (async, 4 in flight, 1 worker)', sz, z.rebuildAsyncPipelinedGBps, 'GB/s', 'ronomon pipel.', z.rebuildAsyncPipelinedVsRonomon)
  row('rsReconstructSync 4 data missing', sz, z.rebuildSyncGBps, 'GB/s', 'ronomon', z.rebuildSyncVsRonomon)
}

// ---------------------------------------------------------------- hashes
const nodeSha = b => crypto.createHash('sha256').update(b).digest()
const nodeShaOneShot = b => crypto.hash('sha256', b, 'buffer')
for (const S of [16 * 1024, 1024 * 1024]) {
  const b = crypto.randomBytes(S)
  if (!native.sha256(b).equals(nodeSha(b))) throw new Error('sha256 mismatch')
  const r = await group([
    { name: 'native', bytes: S, fn: () => native.sha256(b) },
    { name: 'node', bytes: S, fn: () => nodeSha(b) },
    { name: 'nodeOneShot', bytes: S, fn: () => nodeShaOneShot(b) },
    { name: 'blake3', bytes: S, fn: () => native.blake3(b) }
  ])
  const key = S === 16384 ? '16KiB' : '1MiB'
  results.hash[key] = {
    sha256GBps: r.native.gbps,
    nodeSha256GBps: r.node.gbps,
    nodeSha256OneShotGBps: r.nodeOneShot.gbps,
    blake3GBps: r.blake3.gbps,
    sha256VsNode: r.native.gbps / r.node.gbps,
    sha256VsNodeOneShot: r.native.gbps / r.nodeOneShot.gbps,
    blake3VsNodeSha256: r.blake3.gbps / r.node.gbps
  }
  const z = results.hash[key]
  row('node:crypto createHash sha256', fmtSize(S), z.nodeSha256GBps, 'GB/s', '', null)
  row('node:crypto hash() sha256 one-shot', fmtSize(S), z.nodeSha256OneShotGBps, 'GB/s', '', null)
  row('sha256', fmtSize(S), z.sha256GBps, 'GB/s', 'createHash', z.sha256VsNode)
  row('sha256', fmtSize(S), z.sha256GBps, 'GB/s', 'hash() one-shot', z.sha256VsNodeOneShot)
  row('blake3', fmtSize(S), z.blake3GBps, 'GB/s', 'createHash sha256', z.blake3VsNodeSha256)
}

for (const [count, S] of [[256, 16 * 1024], [16, 1024 * 1024]]) {
  const chunks = Array.from({ length: count }, () => crypto.randomBytes(S))
  const total = count * S
  const r = await group([
    { name: 'batch', bytes: total, async: true, fn: () => native.sha256Batch(chunks) },
    { name: 'nodeSeq', bytes: total, fn: () => { for (const c of chunks) nodeSha(c) } },
    // the receive path of @codio/exchange: one off-thread sha256 per block, all in flight
    { name: 'perBlock', bytes: total, async: true, fn: () => Promise.all(chunks.map(c => native.sha256Batch([c]))) }
  ])
  const key = `${count}x${S === 16384 ? '16KiB' : '1MiB'}`
  results.hash[`batch_${key}`] = {
    sha256BatchGBps: r.batch.gbps,
    nodeSequentialGBps: r.nodeSeq.gbps,
    batchVsNodeSequential: r.batch.gbps / r.nodeSeq.gbps,
    perBlockAsyncGBps: r.perBlock.gbps,
    perBlockAsyncVsNodeSequential: r.perBlock.gbps / r.nodeSeq.gbps
  }
  const z = results.hash[`batch_${key}`]
  row('node:crypto sha256, sequential', `${count} x ${fmtSize(S)}`, z.nodeSequentialGBps, 'GB/s', '', null)
  row('sha256Batch (2 threads)', `${count} x ${fmtSize(S)}`, z.sha256BatchGBps, 'GB/s', 'node sequential', z.batchVsNodeSequential)
  row('sha256Batch([block]) per block, all in flight', `${count} x ${fmtSize(S)}`, z.perBlockAsyncGBps, 'GB/s', 'node sequential', z.perBlockAsyncVsNodeSequential)
}

// ---------------------------------------------------------------- per-call cost
{
  const tinyK = 4
  const tinyM = 2
  const tinyS = 64
  const data = Array.from({ length: tinyK }, () => crypto.randomBytes(tinyS))
  const par = native.rsEncodeSync(data, tinyM)
  const holes = [null, data[1], null, data[3], ...par]
  const into = Array.from({ length: tinyM }, () => Buffer.alloc(tinyS))
  const small = crypto.randomBytes(64)
  const cases = [
    { name: 'rsEncodeSync', fn: () => native.rsEncodeSync(data, tinyM) },
    { name: 'rsEncodeIntoSync', fn: () => native.rsEncodeIntoSync(data, into) },
    { name: 'rsEncode', async: true, fn: () => native.rsEncode(data, tinyM) },
    { name: 'rsReconstructSync', fn: () => native.rsReconstructSync(holes, tinyK) },
    { name: 'rsReconstruct', async: true, fn: () => native.rsReconstruct(holes, tinyK) },
    { name: 'sha256_64B', fn: () => native.sha256(small) },
    { name: 'nodeSha256_64B', fn: () => nodeSha(small) },
    { name: 'blake3_64B', fn: () => native.blake3(small) }
  ]
  if (ronomon) {
    const ctx = ronomon.create(tinyK, tinyM)
    const rbuf = Buffer.concat(data)
    const rpar = Buffer.alloc(tinyM * tinyS)
    cases.push({
      name: 'ronomonEncode',
      async: true,
      fn: () => ronomonCall(ctx, 0b1111, 0b110000, rbuf, rpar, tinyK * tinyS, tinyM * tinyS)
    })
  }
  const r = await group(cases)
  for (const [name, v] of Object.entries(r)) {
    results.tiny[`${name}_us`] = v.usPerCall
    row(`per call: ${name}`, name.includes('64B') ? '64 B' : `${tinyK}+${tinyM} x ${tinyS} B`, v.usPerCall, 'µs/call', '', null)
  }
}

// ---------------------------------------------------------------- report
const T = (target, value, using) => ({ target, value, met: value != null && value >= target, using })
const rs64 = results.rs['64KiB']
const targets = {
  encodeVsRonomon: T(2.8, rs64.encodeAsyncVsRonomon, 'rsEncode (async, 1 in flight) vs @ronomon/reed-solomon encode (async, 1 in flight), 10+4 x 64 KiB'),
  encodePipelinedVsRonomon: T(2.8, rs64.encodeAsyncPipelinedVsRonomon, 'rsEncode vs @ronomon encode, both async with 4 in flight on 1 libuv worker, 10+4 x 64 KiB'),
  encodeSyncVsRonomon: T(2.8, rs64.encodeSyncVsRonomon, 'rsEncodeSync vs @ronomon/reed-solomon encode (async), 10+4 x 64 KiB'),
  encodeVsCopy: T(0.9, rs64.encodeSyncVsCopy, 'rsEncodeSync (allocates 4 new parity Buffers per call) vs Buffer.copy of the 10 data shards into preallocated Buffers, 64 KiB'),
  encodeIntoVsCopy: T(0.9, rs64.encodeIntoSyncVsCopy, 'rsEncodeIntoSync (preallocated parity) vs Buffer.copy, 64 KiB'),
  rebuildVsRonomon: T(3, rs64.rebuildAsyncVsRonomon, 'rsReconstruct (async, 1 in flight) vs @ronomon rebuild (async, 1 in flight), 4 data shards missing, 10+4 x 64 KiB'),
  rebuildPipelinedVsRonomon: T(3, rs64.rebuildAsyncPipelinedVsRonomon, 'rsReconstruct vs @ronomon rebuild, both async with 4 in flight on 1 libuv worker, 64 KiB'),
  rebuildSyncVsRonomon: T(3, rs64.rebuildSyncVsRonomon, 'rsReconstructSync vs @ronomon rebuild (async), 64 KiB'),
  sha256VsNode16KiB: T(0.95, results.hash['16KiB'].sha256VsNode, 'sha256 vs createHash("sha256"), 16 KiB'),
  sha256VsNode1MiB: T(0.95, results.hash['1MiB'].sha256VsNode, 'sha256 vs createHash("sha256"), 1 MiB'),
  sha256BatchVsNode: T(1.7, results.hash['batch_256x16KiB'].batchVsNodeSequential, 'sha256Batch (2 cores) vs node:crypto sequential, 256 x 16 KiB'),
  sha256BatchVsNode1MiB: T(1.7, results.hash['batch_16x1MiB'].batchVsNodeSequential, 'sha256Batch (2 cores) vs node:crypto sequential, 16 x 1 MiB'),
  blake3VsNodeSha256_1MiB: T(3, results.hash['1MiB'].blake3VsNodeSha256, 'blake3 vs createHash("sha256"), 1 MiB'),
  blake3VsNodeSha256_16KiB: T(3, results.hash['16KiB'].blake3VsNodeSha256, 'blake3 vs createHash("sha256"), 16 KiB')
}

const f = (v, d = 2) => (v == null ? 'n/a' : v.toFixed(d))
console.log(`@codio/native benchmark — ${os.cpus()[0]?.model ?? 'cpu?'} x${os.cpus().length}, node ${process.version}, kernel ${native.simdLevel()}, median of ${REPS} runs`)
if (!ronomon) console.log(`@ronomon/reed-solomon unavailable: ${ronomonError}`)
const W = [46, 16, 10, 9, 18, 7]
const line = cols => cols.map((c, i) => (i >= 2 && i !== 4 ? String(c).padStart(W[i]) : String(c).padEnd(W[i]))).join(' | ')
console.log(line(['case', 'size', 'value', 'unit', 'vs', 'ratio']))
console.log(W.map(w => '-'.repeat(w)).join('-+-'))
for (const r of rows) console.log(line([r.what, r.size, f(r.value, r.unit === 'µs/call' ? 3 : 2), r.unit, r.baseline, r.ratio == null ? '' : f(r.ratio) + 'x']))
console.log('')
for (const [name, t] of Object.entries(targets)) {
  console.log(`${t.met ? 'MET   ' : 'MISSED'} ${name}: ${f(t.value)}x (target >= ${t.target}x) — ${t.using}`)
}
const loadAfter = os.loadavg()[0]
const benchSeconds = (now() - t0All) / 1000
const busyAfter = machineBusy()
console.log(`total bench time ${benchSeconds.toFixed(1)} s; CPU used by other processes: ${(100 * busyBefore).toFixed(0)}% before, ${(100 * busyAfter).toFixed(0)}% after; 1-min load average ${loadBefore.toFixed(2)} -> ${loadAfter.toFixed(2)} (${os.cpus().length} cores)`)
if (Math.max(busyBefore, busyAfter) > 0.1) console.log('WARNING: other processes were using the CPU around the benchmark; figures are noisy (sha256Batch needs an idle second core)')
console.log(
  JSON.stringify({
    cpu: os.cpus()[0]?.model,
    cores: os.cpus().length,
    node: process.version,
    simd: native.simdLevel(),
    reps: REPS,
    benchSeconds,
    otherCpuBusy: { before: busyBefore, after: busyAfter },
    loadAverage: { before: loadBefore, after: loadAfter },
    ronomon: ronomon ? 'ok' : `unavailable: ${ronomonError}`,
    ...results,
    targets
  })
)
