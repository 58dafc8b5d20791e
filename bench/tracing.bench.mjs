#!/usr/bin/env node
/**
 * Tracing overhead at the edge: two local clusters side by side in one run, one exporting every
 * span (OTEL_TRACES_SAMPLER=always_on, OTLP/HTTP to deploy/test/otlp-receiver.mjs in its own
 * process), one with tracing off (no endpoint: the SDK is not started). Rounds alternate which
 * cluster goes first; each round measures, on each cluster:
 *
 *   warm  BENCH_WARM_REQUESTS GETs (default 400) of one cached BENCH_SIZE_MIB content (default 4),
 *         BENCH_CONCURRENCY at a time (default 8): requests/s
 *   cold  BENCH_COLD contents (default 3) published that round, each GET once at the edge
 *         (resolution + swarm download from the origin): ms per request
 *
 *   npm run bench:tracing            (BENCH_ROUNDS=5 by default)
 *
 * Prints the medians over the rounds, the on/off ratios, then one JSON line of every figure.
 */
import { spawn, execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { startCluster } from './local-cluster.mjs'

const exec = promisify(execFile)
const root = fileURLToPath(new URL('..', import.meta.url))
const cli = join(root, 'libs/cli/dist/bin.js')
const MiB = 1024 * 1024
const rounds = Number(process.env.BENCH_ROUNDS ?? 5)
const sizeMiB = Number(process.env.BENCH_SIZE_MIB ?? 4)
const warmRequests = Number(process.env.BENCH_WARM_REQUESTS ?? 400)
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8)
const coldCount = Number(process.env.BENCH_COLD ?? 3)

const median = xs => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2 }

async function startReceiver () {
  const child = spawn(process.execPath, [join(root, 'deploy/test/otlp-receiver.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] })
  const url = await new Promise((resolve, reject) => {
    let out = ''
    child.stdout.on('data', d => { out += d; const m = /listening (\S+)/.exec(out); if (m != null) resolve(m[1]) })
    child.once('exit', code => reject(new Error(`receiver exited (${code})`)))
  })
  return { child, url }
}

async function startNodes (dir, env) {
  const { child, byName } = await startCluster(dir, { env })
  return { child, dir, origin: byName('origin-1').http, edge: byName('edge-1').http }
}

async function publish (c, i) {
  const path = join(c.dir, `content-${i}.bin`)
  await writeFile(path, randomBytes(sizeMiB * MiB))
  const { stdout } = await exec(process.execPath, [cli, 'publish', path, '--origin', c.origin, '--quiet'])
  await rm(path)
  return stdout.trim().split('\n').pop()
}

async function get (url) {
  const res = await fetch(url)
  const n = (await res.arrayBuffer()).byteLength
  if (res.status !== 200 || n !== sizeMiB * MiB) throw new Error(`GET ${url}: ${res.status}, ${n} bytes`)
}

async function warm (c, cid) {
  let next = 0
  const t0 = performance.now()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next++ < warmRequests) await get(`${c.edge}/content/${cid}`)
  }))
  return warmRequests / ((performance.now() - t0) / 1000)
}

async function cold (c, round) {
  const cids = []
  for (let i = 0; i < coldCount; i++) cids.push(await publish(c, `${round}-${i}`))
  const ms = []
  for (const cid of cids) {
    const t0 = performance.now()
    await get(`${c.edge}/content/${cid}`)
    ms.push(performance.now() - t0)
  }
  return median(ms)
}

const base = await mkdtemp(join(tmpdir(), 'codio-bench-tracing-'))
const receiver = await startReceiver()
const clusters = {}
try {
  clusters.off = await startNodes(join(base, 'off'), {})
  clusters.on = await startNodes(join(base, 'on'), { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_TRACES_SAMPLER: 'always_on' })
  const cached = {}
  for (const [k, c] of Object.entries(clusters)) {
    cached[k] = await publish(c, 'warm')
    await get(`${c.edge}/content/${cached[k]}`) // now a cache hit
    await warm(c, cached[k]) // warm-up round, not counted
  }
  const figures = { off: { warmRps: [], coldMs: [] }, on: { warmRps: [], coldMs: [] } }
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? ['off', 'on'] : ['on', 'off']
    for (const k of order) {
      figures[k].warmRps.push(await warm(clusters[k], cached[k]))
      figures[k].coldMs.push(await cold(clusters[k], r))
    }
    console.log(`round ${r + 1}/${rounds}: warm ${figures.off.warmRps[r].toFixed(0)} vs ${figures.on.warmRps[r].toFixed(0)} req/s, cold ${figures.off.coldMs[r].toFixed(0)} vs ${figures.on.coldMs[r].toFixed(0)} ms (off vs on)`)
  }
  const spans = (await (await fetch(`${receiver.url}/spans`)).json()).length
  const m = { off: { warmRps: median(figures.off.warmRps), coldMs: median(figures.off.coldMs) }, on: { warmRps: median(figures.on.warmRps), coldMs: median(figures.on.coldMs) } }
  console.log(`\nmedians over ${rounds} rounds (${sizeMiB} MiB contents, ${warmRequests} warm GETs ${concurrency} at a time, ${coldCount} cold GETs a round)`)
  console.log('                 tracing off   tracing on   on/off')
  console.log(`warm GETs/s      ${m.off.warmRps.toFixed(0).padStart(11)}   ${m.on.warmRps.toFixed(0).padStart(10)}   ${(m.on.warmRps / m.off.warmRps).toFixed(3)}`)
  console.log(`warm MB/s        ${(m.off.warmRps * sizeMiB * MiB / 1e6).toFixed(0).padStart(11)}   ${(m.on.warmRps * sizeMiB * MiB / 1e6).toFixed(0).padStart(10)}`)
  console.log(`cold GET ms      ${m.off.coldMs.toFixed(0).padStart(11)}   ${m.on.coldMs.toFixed(0).padStart(10)}   ${(m.on.coldMs / m.off.coldMs).toFixed(3)}`)
  console.log(`spans exported (tracing on): ${spans}`)
  console.log(JSON.stringify({ bench: 'tracing', rounds, sizeMiB, warmRequests, concurrency, coldCount, figures, medians: m, spansExported: spans }))
} finally {
  for (const c of Object.values(clusters)) {
    c.child.kill('SIGTERM')
    await new Promise(resolve => c.child.once('exit', resolve))
  }
  receiver.child.kill('SIGTERM')
  await rm(base, { recursive: true, force: true })
}
