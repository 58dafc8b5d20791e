#!/usr/bin/env node
/**
 * FEC benchmark: what each Reed-Solomon code costs at the origin and buys at the edge, to
 * choose the default k+m. For each code, side by side in one run:
 *   - ingest rate of a 256 MiB random upload through the origin's real ingest path (chunking,
 *     SHA-256, parity coding off-thread, durable staged writes and commit), median of 3;
 *   - storage and origin-upload overhead m/k; memory held by an ingest (at most two groups: one
 *     being coded and written while the next streams in);
 *   - rebuild time of one group with m data chunks lost (1 MiB chunks, native addon), median;
 *   - repair traffic for a range read whose chunk is lost: k chunks;
 *   - probability that a group, and a 1 GiB content (1,024 chunks), cannot be rebuilt when each
 *     chunk is lost independently with probability p (binomial tail).
 *
 *   npm run bench:fec          (BENCH_FEC_MIB=256 to change the upload size)
 *
 * Prints a table, then one JSON line of every figure.
 */
import { randomFillSync } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@codio/signing'
import { BlockStore } from '@codio/store'
import { FecEncoder, fecPlan } from '@codio/fec'
import { chunkCid } from '@codio/content'
import { ingest } from '../services/origin/dist/ingest.js'

const MiB = 1024 * 1024
const CHUNK = MiB
const UPLOAD = Number(process.env.BENCH_FEC_MIB ?? 256) * MiB
const CODES = (process.env.BENCH_FEC_CODES ?? 'none,4+2,8+2,10+4,16+4,20+5').split(',').map(c => c === 'none' ? undefined : c.split('+').map(Number))
const RUNS = 3
const median = a => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]

const payload = Buffer.alloc(UPLOAD)
randomFillSync(payload)
async function * body () {
  for (let o = 0; o < UPLOAD; o += 256 * 1024) yield payload.subarray(o, o + 256 * 1024)
}

function binomTail (n, p, moreThan) {
  // P(X > moreThan), X ~ Bin(n, p)
  let sum = 0
  let term = Math.pow(1 - p, n)
  for (let x = 0; x <= n; x++) {
    if (x > moreThan) sum += term
    term = term * (n - x) / (x + 1) * p / (1 - p)
  }
  return sum
}

const publisher = await generateKeyPair()
const rows = []
for (const code of CODES) {
  const fec = code == null ? undefined : { dataShards: code[0], parityShards: code[1] }
  const rates = []
  for (let r = 0; r < RUNS; r++) {
    const dir = await mkdtemp(join(tmpdir(), 'codio-fec-bench-'))
    const store = await BlockStore.open(join(dir, 'store'))
    const t0 = performance.now()
    await ingest({ store, publisher, maxUploadBytes: UPLOAD * 2 }, { body: body(), mediaType: 'application/octet-stream', chunkSize: CHUNK, fec })
    rates.push(UPLOAD / 1e6 / ((performance.now() - t0) / 1000))
    await store.close()
    await rm(dir, { recursive: true, force: true })
  }
  let rebuildMs = 0
  if (fec != null) {
    const k = fec.dataShards
    const m = fec.parityShards
    const data = Array.from({ length: k }, (_, i) => payload.subarray(i * CHUNK, (i + 1) * CHUNK))
    const enc = new FecEncoder(fec)
    let par
    for (const d of data) par = (await enc.push(d)) ?? par
    const manifest = { size: k * CHUNK, chunkSize: CHUNK, chunks: data.map(chunkCid), fec: { ...fec, groups: [{ parity: par.map(chunkCid) }] } }
    const plan = fecPlan(manifest)
    const times = []
    for (let r = 0; r < 7; r++) {
      const shards = [...data, ...par].map((s, i) => i < m ? undefined : s)
      const t0 = performance.now()
      await plan.rebuild(0, shards)
      times.push(performance.now() - t0)
    }
    rebuildMs = median(times)
  }
  const k = code?.[0] ?? 1
  const m = code?.[1] ?? 0
  rows.push({
    code: code == null ? 'none' : `${k}+${m}`,
    ingestMBps: Math.round(median(rates) * 10) / 10,
    overhead: m / k,
    ingestMemoryMiB: (code == null ? 1 : 2 * k) * CHUNK / MiB,
    rebuildGroupMs: Math.round(rebuildMs * 100) / 100,
    repairFetchChunks: code == null ? null : k,
    pGroupLost1pct: binomTail(k + m, 0.01, m),
    pGroupLost5pct: binomTail(k + m, 0.05, m),
    pContentLost1GiB5pct: 1 - Math.pow(1 - binomTail(k + m, 0.05, m), Math.ceil(1024 / k))
  })
}

const none = rows[0].ingestMBps
const fmt = x => x === 0 ? '0' : x < 1e-3 ? x.toExponential(1) : x.toFixed(4)
console.log(`FEC codes, ${UPLOAD / MiB} MiB upload, 1 MiB chunks, median of ${RUNS} ingests (this machine)`)
console.log('code   ingest MB/s  vs none  overhead  ingest mem  rebuild group (m lost)  repair fetch  P(group lost) p=1%  p=5%      P(1 GiB lost) p=5%')
for (const r of rows) {
  console.log([
    r.code.padEnd(6),
    String(r.ingestMBps).padStart(11),
    (r.ingestMBps / none).toFixed(2).padStart(8) + '×',
    `${(r.overhead * 100).toFixed(0)}%`.padStart(8),
    `${r.ingestMemoryMiB} MiB`.padStart(10),
    `${r.rebuildGroupMs} ms`.padStart(22),
    String(r.repairFetchChunks ?? '-').padStart(12),
    fmt(r.pGroupLost1pct).padStart(19),
    fmt(r.pGroupLost5pct).padStart(9),
    fmt(r.pContentLost1GiB5pct).padStart(20)
  ].join('  '))
}
console.log(JSON.stringify({ bench: 'fec', uploadMiB: UPLOAD / MiB, chunkMiB: CHUNK / MiB, rows }))
