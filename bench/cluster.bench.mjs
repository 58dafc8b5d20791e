#!/usr/bin/env node
/**
 * Local-cluster benchmark: publish and download rates (64 MiB and 1 GiB), time to first byte
 * at a cold edge, and each process's peak memory (VmHWM). Baseline in the same run: a plain
 * node:http static file server streaming the same file over loopback to the same curl. For the
 * cold and the swarm download, the CPU the cluster's processes used (user + system, from /proc,
 * summed over all of them) per GB delivered. curl's output comes through a pipe and is hashed
 * here (OpenSSL's SHA-256; checked against the file's), not written to disk: written to a file,
 * the client's page-cache writeback was the bound of a run's later downloads (a cache hit
 * measured 290 MB/s that way, over 2 GB/s into /dev/null), and coreutils' sha256sum at the
 * end of a pipe bounded everything at ~430 MB/s.
 *
 *   npm run bench:cluster            (BENCH_SIZES_MIB=64,1024 by default)
 *
 * Prints a table, then one JSON line of every figure.
 */
import { execFile, spawn } from 'node:child_process'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createHash, randomFillSync } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { startCluster } from './local-cluster.mjs'
import { cpuMeter, peakRss } from './cpu.mjs'

const exec = promisify(execFile)
const root = fileURLToPath(new URL('..', import.meta.url))
const cli = join(root, 'libs/cli/dist/bin.js')
const sizes = (process.env.BENCH_SIZES_MIB ?? '64,1024').split(',').map(Number)
const MiB = 1024 * 1024

async function makeFile (path, bytes) {
  const out = createWriteStream(path)
  const block = Buffer.alloc(4 * MiB)
  for (let done = 0; done < bytes; done += block.length) {
    randomFillSync(block)
    const part = block.subarray(0, Math.min(block.length, bytes - done))
    if (!out.write(part)) await new Promise(resolve => out.once('drain', resolve))
  }
  await new Promise((resolve, reject) => out.end(err => err ? reject(err) : resolve()))
}

/** GET `url` with curl, its body hashed here as it arrives: timings, size, rate and the SHA-256 (hex). */
async function curl (url) {
  const child = spawn('curl', ['-sS', '-f', '-w', '%{stderr}%{time_starttransfer} %{time_total} %{size_download}', url], { stdio: ['ignore', 'pipe', 'pipe'] })
  const hash = createHash('sha256')
  let stderr = ''
  child.stdout.on('data', b => { hash.update(b) })
  child.stderr.on('data', b => { stderr += b })
  const code = await new Promise(resolve => child.once('close', resolve))
  if (code !== 0) throw new Error(`curl ${url} exited ${code}: ${stderr}`)
  const [ttfb, total, size] = stderr.trim().split(' ').map(Number)
  return { ttfb, total, size, rate: size / total, sha: hash.digest('hex') }
}

async function sha (path) {
  const { stdout } = await exec('sha256sum', [path])
  return stdout.split(' ')[0]
}

const mb = (bytesPerSecond) => (bytesPerSecond / 1e6).toFixed(1)

const dir = await mkdtemp(join(tmpdir(), 'codio-bench-'))
const { child: cluster, file, byName: proc } = await startCluster(dir, { edges: 2, relays: 2 })
try {
  const results = []
  for (const size of sizes) {
    const path = join(dir, `sample-${size}.bin`)
    await makeFile(path, size * MiB)
    const expected = await sha(path)

    // baseline: a plain static file server on loopback, same client
    const server = createServer((req, res) => { res.writeHead(200, { 'content-length': size * MiB }); createReadStream(path).pipe(res) })
    await new Promise(resolve => server.listen(0, '127.0.0.1', resolve))
    const base = await curl(`http://127.0.0.1:${server.address().port}/`)
    if (base.sha !== expected) throw new Error('the baseline server returned different bytes')
    server.close()

    const p0 = performance.now()
    const { stdout } = await exec(process.execPath, [cli, 'publish', path, '--origin', proc('origin-1').http, '--quiet'])
    const publishSeconds = (performance.now() - p0) / 1000
    const cid = stdout.trim().split('\n').pop()

    const named = file.processes.map(p => ({ name: p.name, pid: p.pid }))
    let meter = await cpuMeter(named)
    const cold = await curl(`${proc('edge-1').http}/content/${cid}`)
    const coldCpu = await meter.stop()
    if (cold.sha !== expected) throw new Error('edge-1 returned different bytes')
    await new Promise(resolve => setTimeout(resolve, 1500)) // edge-1 provides what it cached
    meter = await cpuMeter(named)
    const swarm = await curl(`${proc('edge-2').http}/content/${cid}`)
    const swarmCpu = await meter.stop()
    if (swarm.sha !== expected) throw new Error('edge-2 returned different bytes')
    meter = await cpuMeter(named)
    const hit = await curl(`${proc('edge-1').http}/content/${cid}`)
    const hitCpu = await meter.stop()
    if (hit.sha !== expected) throw new Error('edge-1 returned different bytes from its cache')
    await rm(path)
    results.push({
      sizeMiB: size,
      publishMBps: size * MiB / publishSeconds / 1e6,
      baselineMBps: base.rate / 1e6,
      coldEdgeMBps: cold.rate / 1e6,
      coldTtfbMs: cold.ttfb * 1000,
      swarmEdgeMBps: swarm.rate / 1e6,
      cacheHitMBps: hit.rate / 1e6,
      cacheHitTtfbMs: hit.ttfb * 1000,
      coldCpuSecondsPerGB: coldCpu.total / (size * MiB / 1e9),
      coldCpuByProcess: coldCpu.byName,
      coldCpuByThread: coldCpu.byThread,
      swarmCpuSecondsPerGB: swarmCpu.total / (size * MiB / 1e9),
      hitCpuSecondsPerGB: hitCpu.total / (size * MiB / 1e9),
      coldVsBaseline: cold.rate / base.rate,
      hitVsBaseline: hit.rate / base.rate
    })
  }
  const memory = {}
  for (const p of file.processes) memory[p.name] = await peakRss(p.pid)

  console.log('size      publish  baseline  cold edge  (ttfb)    swarm edge  cache hit  (ttfb)   cold/base  hit/base')
  for (const r of results) {
    console.log(`${String(r.sizeMiB).padStart(5)} MiB ${mb(r.publishMBps * 1e6).padStart(6)}   ${mb(r.baselineMBps * 1e6).padStart(7)}   ${mb(r.coldEdgeMBps * 1e6).padStart(7)}  ${r.coldTtfbMs.toFixed(0).padStart(5)} ms  ${mb(r.swarmEdgeMBps * 1e6).padStart(8)}    ${mb(r.cacheHitMBps * 1e6).padStart(7)}  ${r.cacheHitTtfbMs.toFixed(0).padStart(4)} ms    ${r.coldVsBaseline.toFixed(2)}      ${r.hitVsBaseline.toFixed(2)}`)
  }
  console.log('(rates in MB/s = 10^6 bytes/s; baseline = node:http static file server, same curl, same run)')
  console.log('CPU-seconds per GB delivered, all cluster processes (user + system):')
  for (const r of results) console.log(`${String(r.sizeMiB).padStart(5)} MiB  cold ${r.coldCpuSecondsPerGB.toFixed(2)}  swarm ${r.swarmCpuSecondsPerGB.toFixed(2)}  hit ${r.hitCpuSecondsPerGB.toFixed(2)}   cold by process: ${Object.entries(r.coldCpuByProcess).filter(([, s]) => s >= 0.05).map(([n, s]) => `${n} ${s}`).join(', ')}`)
  console.log('  cold, by kind of thread (CPU-s/GB; main = JavaScript, gc = V8 workers, pool = libuv threadpool):')
  for (const r of results) {
    for (const [n, t] of Object.entries(r.coldCpuByThread).filter(([n]) => r.coldCpuByProcess[n] >= 0.05)) {
      console.log(`    ${n.padEnd(9)} ${Object.entries(t).map(([k, s]) => `${k} ${(s / (r.sizeMiB * MiB / 1e9)).toFixed(2)}`).join(', ')}`)
    }
  }
  console.log('peak memory (VmHWM) over the whole run:')
  for (const [name, bytes] of Object.entries(memory)) console.log(`  ${name.padEnd(9)} ${(bytes / MiB).toFixed(0)} MiB`)
  console.log(JSON.stringify({ bench: 'cluster', results, peakMemoryBytes: memory }))
} finally {
  cluster.kill('SIGTERM')
  await new Promise(resolve => cluster.once('exit', resolve))
  await rm(dir, { recursive: true, force: true })
}
