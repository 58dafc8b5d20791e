/**
 * Request size limits and malformed messages on the tracker's RPC port (TrackerService and
 * ControlService), over real HTTP connections, a real NATS and Redis: the built tracker as a
 * process whose memory is watched while 128 MiB bodies are thrown at it (declared and chunked);
 * garbage binary messages answer `invalid_argument` on unary calls and on the Watch stream;
 * `[rpc] maxRequestBytes` sets the limit.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort, startNats, startRedis, type Sidecar } from '@codio/sidecars'
import { postBody as post, type Probe } from '@codio/testing'
import { TrackerClient } from '@codio/tracker'
import { trackerConfigSchema, type Tracker } from '../src/index.js'
import { contentId, startTracker, until } from './helpers.js'

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url))
const MiB = 1024 * 1024
const BIG = 128 * MiB
/** Bytes no protobuf decoder accepts (field number 2^29−1 with wire type 7). */
const GARBAGE = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x34])

const envelope = (message: Buffer): Buffer => {
  const head = Buffer.alloc(5)
  head.writeUInt32BE(message.length, 1)
  return Buffer.concat([head, message])
}

/** Resident memory of process `pid` (bytes), from /proc. */
const rssOf = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024

/** Runs `fn` while sampling `pid`'s RSS every 10 ms; resolves with its result and the peak growth (bytes). */
async function peakRssGrowth<T> (pid: number, fn: () => Promise<T>): Promise<[T, number]> {
  const base = rssOf(pid)
  let peak = base
  const timer = setInterval(() => { try { peak = Math.max(peak, rssOf(pid)) } catch {} }, 10)
  try {
    const r = await fn()
    await new Promise(resolve => setTimeout(resolve, 50))
    peak = Math.max(peak, rssOf(pid))
    return [r, peak - base]
  } finally {
    clearInterval(timer)
  }
}

let nats: Sidecar
let redis: Sidecar
let dir: string

beforeAll(async () => {
  ;[nats, redis] = await Promise.all([startNats(), startRedis()])
  dir = await mkdtemp(join(tmpdir(), 'codio-tracker-limits-'))
})

afterAll(async () => {
  await Promise.all([nats?.stop(), redis?.stop()])
  await rm(dir, { recursive: true, force: true })
})

describe('codio-tracker process, default request limit (4 MiB)', () => {
  let child: ChildProcess
  let exit: Promise<number | null>
  let rpc: string
  let http: string
  const json = { 'content-type': 'application/json' }
  beforeAll(async () => {
    const [httpPort, rpcPort] = [await freePort(), await freePort()]
    const file = join(dir, 'tracker.toml')
    await writeFile(file, ['log_level = "warn"', '[http]', `port = ${httpPort}`, '[rpc]', `port = ${rpcPort}`, '[nats]', `servers = "${nats.url}"`, '[redis]', `url = "${redis.url}"`, 'key_prefix = "limits-test:"'].join('\n'))
    child = spawn(process.execPath, [MAIN, '--config', file], { stdio: ['ignore', 'ignore', 'inherit'] })
    exit = new Promise(resolve => child.once('exit', resolve))
    rpc = `http://127.0.0.1:${rpcPort}`
    http = `http://127.0.0.1:${httpPort}`
    await until(async () => (await fetch(`${http}/readyz`).catch(() => undefined))?.status === 200, 15_000, 'readyz')
  })
  afterAll(async () => {
    child?.kill('SIGTERM')
    await exit
  })

  it('refuses a 128 MiB body, declared or chunked, with resource_exhausted at once, its memory flat', async () => {
    const [declared, growth1] = await peakRssGrowth(child.pid!, async () => await post(`${rpc}/codio.tracker.v1.TrackerService/SelectPeers`, json, { size: BIG, chunked: false }))
    const [chunked, growth2] = await peakRssGrowth(child.pid!, async () => await post(`${rpc}/codio.tracker.v1.ControlService/UpdateClusterConfig`, json, { size: BIG, chunked: true }))
    for (const r of [declared, chunked]) {
      expect([r.status, JSON.parse(r.body).code]).toEqual([429, 'resource_exhausted'])
      expect(r.sent).toBeLessThan(BIG / 2) // the process hung up instead of taking the rest (it drops up to 16 MiB after answering)
      expect(r.ms).toBeLessThan(5000)
    }
    expect(growth1).toBeLessThan(48 * MiB)
    expect(growth2).toBeLessThan(48 * MiB)
    // and it still serves
    expect(await new TrackerClient({ baseUrl: rpc, timeoutMs: 2000 }).selectPeers(contentId(), 3)).toEqual([])
  })

  it('answers invalid_argument, not internal, to garbage binary messages (TrackerService, ControlService, Watch)', async () => {
    for (const path of ['TrackerService/SelectPeers', 'TrackerService/ListAvailability', 'ControlService/UpdateClusterConfig', 'ControlService/ReportJobProgress']) {
      const r = await post(`${rpc}/codio.tracker.v1.${path}`, { 'content-type': 'application/proto' }, GARBAGE)
      expect([path, r.status, JSON.parse(r.body).code]).toEqual([path, 400, 'invalid_argument'])
    }
    // the server stream: Connect streaming protocol, the garbage in an envelope; the error rides the end-of-stream message
    const watch = await post(`${rpc}/codio.tracker.v1.ControlService/Watch`, { 'content-type': 'application/connect+proto' }, envelope(GARBAGE))
    expect(watch.status).toBe(200)
    expect(watch.body).toContain('"code":"invalid_argument"')
  })

  it('does not read big bodies sent to its HTTP port either (/metrics: 413 to a POST, a GET body ignored)', async () => {
    const [posted, growth1] = await peakRssGrowth(child.pid!, async () => await post(`${http}/metrics`, json, { size: BIG, chunked: true }))
    const [got, growth2] = await peakRssGrowth(child.pid!, async () => await new Promise<Probe>((resolve, reject) => {
      // a GET carrying a declared 128 MiB body: answered, the connection closed on the rest
      const req = request(`${http}/metrics`, { method: 'GET', headers: { 'content-length': String(BIG) }, agent: false }, (res) => {
        res.resume()
        res.on('end', () => { req.destroy(); resolve({ status: res.statusCode ?? 0, body: '', headers: res.headers, sent: 0, ms: 0 }) })
      })
      req.on('error', reject)
      req.write(Buffer.alloc(MiB, 0x20))
    }))
    expect(posted.status).toBe(413)
    expect(posted.sent).toBeLessThan(BIG / 2)
    expect(got.status).toBe(200)
    expect(growth1).toBeLessThan(48 * MiB)
    expect(growth2).toBeLessThan(48 * MiB)
  })
})

describe('tracker [rpc] maxRequestBytes', () => {
  let tracker: Tracker

  afterAll(async () => { await tracker?.stop() })

  it('defaults to 4 MiB, takes sizes like "64KiB", refuses 0', () => {
    expect(trackerConfigSchema.parse({}).rpc.maxRequestBytes).toBe(4 * MiB)
    expect(trackerConfigSchema.parse({ rpc: { maxRequestBytes: '64KiB' } }).rpc.maxRequestBytes).toBe(64 * 1024)
    expect(trackerConfigSchema.safeParse({ rpc: { maxRequestBytes: 0 } }).success).toBe(false)
  })

  it('is applied: with 64 KiB, a 48 KiB request is read and answered, a 100 KiB one refused', async () => {
    tracker = await startTracker(nats.url, redis.url, { rpc: { port: 0, maxRequestBytes: '64KiB' } })
    const selectPeers = `${tracker.rpcUrl}/codio.tracker.v1.TrackerService/SelectPeers`
    // a content ID that is no CID: read, parsed, refused by the service itself
    const under = await post(selectPeers, { 'content-type': 'application/json' }, Buffer.from(JSON.stringify({ contentId: 'x'.repeat(48 * 1024), count: 3 })))
    expect([under.status, JSON.parse(under.body).code]).toEqual([400, 'invalid_argument'])
    const over = await post(selectPeers, { 'content-type': 'application/json' }, Buffer.from(JSON.stringify({ contentId: 'x'.repeat(100 * 1024), count: 3 })))
    expect([over.status, JSON.parse(over.body).code]).toEqual([429, 'resource_exhausted'])
    expect(await new TrackerClient({ baseUrl: tracker.rpcUrl, timeoutMs: 2000 }).selectPeers(contentId(), 3)).toEqual([])
  })
})
