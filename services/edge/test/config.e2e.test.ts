import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createAdminClient } from '@codio/admin'
import { chunkCid, chunkStream, encodeManifest, manifestCid, signManifest, type CID } from '@codio/content'
import { CodioPeer } from '@codio/peer'
import { freePort } from '@codio/sidecars'
import { encodePublicKey, generateKeyPair, TrustedKeys, type PublisherKeyPair } from '@codio/signing'
import { createLogger, createMetricsRegistry } from '@codio/telemetry'
import { Code, ConnectError } from '@connectrpc/connect'
import { until } from '@codio/testing'

// Node configuration through the admin API, against a real edge process (dist/main.js) that
// fetches from a real seeding peer over libp2p: live UpdateConfig, refusals, sources,
// persistence across restarts, TrustKey/RevokeKey.

const log = createLogger({ name: 'config-e2e', level: 'silent' })
const MAIN = new URL('../dist/main.js', import.meta.url).pathname
const CHUNK = 256 * 1024

/** Publish `bytes` signed by `publisher` at the seeding peer. */
async function publish (peer: CodioPeer, publisher: PublisherKeyPair, bytes: Uint8Array): Promise<CID> {
  const chunks: CID[] = []
  for await (const c of chunkStream((async function * () { yield bytes })(), CHUNK)) {
    const cid = chunkCid(c)
    await peer.store.put(cid, c)
    chunks.push(cid)
  }
  const manifest = await signManifest({ version: 1, size: bytes.length, mediaType: 'application/octet-stream', chunkSize: CHUNK, chunks, createdAt: Date.now(), publisher: publisher.publicKey }, publisher)
  const encoded = encodeManifest(manifest)
  const contentId = manifestCid(encoded)
  await peer.store.put(contentId, encoded)
  await peer.markComplete(contentId)
  return contentId
}

async function rejection (p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p
  } catch (err) {
    return ConnectError.from(err)
  }
  throw new Error('expected the call to fail')
}

/** A GET whose body arrival is timed: `(ms since start, total bytes)` per piece received. */
function timedGet (url: string): { samples: Array<[number, number]>, done: Promise<number>, t0: number } {
  const t0 = performance.now()
  const samples: Array<[number, number]> = []
  const done = (async () => {
    const res = await fetch(url)
    if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`)
    let total = 0
    for await (const piece of res.body as unknown as AsyncIterable<Uint8Array>) {
      total += piece.byteLength
      samples.push([performance.now() - t0, total])
    }
    return total
  })()
  return { samples, done, t0 }
}

/** Bytes received between `from` and `to` ms after the GET started (from the samples so far). */
function bytesBetween (samples: Array<[number, number]>, from: number, to: number): number {
  const at = (t: number): number => {
    let b = 0
    for (const [ms, total] of samples) if (ms <= t) b = total
    return b
  }
  return at(to) - at(from)
}

describe('edge configuration through ConnectRPC (a real edge process)', () => {
  let dir: string
  let seeder: CodioPeer
  let publisherA: PublisherKeyPair
  let publisherB: PublisherKeyPair
  let bigContent: CID
  let contentB: CID
  const big = randomBytes(12 * CHUNK * 4) // 12 MiB
  let edge: ChildProcess | undefined
  let httpUrl: string
  let adminUrl: string
  let tomlFile: string
  let baseToml: string
  const env = { ...process.env, CODIO_FETCH__STREAMING_WINDOW: '4' }

  async function startEdge (): Promise<void> {
    const out = createWriteStream(join(dir, 'edge.log'), { flags: 'a' })
    const child = spawn(process.execPath, [MAIN, '--config', tomlFile], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout!.pipe(out)
    child.stderr!.pipe(out)
    edge = child
    const exited = new Promise<never>((_resolve, reject) => child.once('exit', code => reject(new Error(`edge exited with ${code}; see ${join(dir, 'edge.log')}`))))
    exited.catch(() => {})
    await Promise.race([exited, until(async () => await fetch(`${httpUrl}/readyz`).then(r => r.status === 200, () => false), 30_000, 'the edge to be ready')])
  }

  async function stopEdge (): Promise<void> {
    const child = edge
    edge = undefined
    if (child == null || child.exitCode !== null) return
    const exit = new Promise(resolve => child.once('exit', resolve))
    child.kill('SIGTERM')
    await exit
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'codio-config-e2e-'))
    publisherA = await generateKeyPair()
    publisherB = await generateKeyPair()
    seeder = await CodioPeer.create({
      role: 'origin', dataDir: join(dir, 'seed'), quic: false, listen: ['/ip4/127.0.0.1/tcp/0'],
      swarm: { superSeeding: false },
      trustedKeys: new TrustedKeys([publisherA.publicKey, publisherB.publicKey]), log, registry: createMetricsRegistry({ role: 'origin', processMetrics: false })
    })
    await seeder.start()
    bigContent = await publish(seeder, publisherA, big)
    contentB = await publish(seeder, publisherB, randomBytes(3 * CHUNK))
    const [httpPort, adminPort] = [await freePort(), await freePort()]
    httpUrl = `http://127.0.0.1:${httpPort}`
    adminUrl = `http://127.0.0.1:${adminPort}`
    tomlFile = join(dir, 'edge.toml')
    await writeFile(join(dir, 'nats-password'), 'pw-that-must-not-show\n')
    baseToml = [
      `dataDir = "${join(dir, 'edge')}"`,
      'logLevel = "info"',
      `[http]\nport = ${httpPort}`,
      `[admin]\nport = ${adminPort}`,
      `[p2p]\nquic = false\nlisten = ["/ip4/127.0.0.1/tcp/0"]\nbootstrap = ["${seeder.node.getMultiaddrs()[0].toString()}"]`,
      `[trust]\npublisherKeys = ["${encodePublicKey(publisherA.publicKey)}", "${encodePublicKey(publisherB.publicKey)}"]`,
      '[fetch]\nlookupTimeout = "5s"',
      `[tracker]\nnatsUser = "edge"\nnatsPasswordFile = "${join(dir, 'nats-password')}"`
    ].join('\n') + '\n'
    await writeFile(tomlFile, baseToml + '[swarm]\nmaxDownloadRate = "1MB"\n')
    await startEdge()
  }, 60_000)

  afterAll(async () => {
    await stopEdge()
    await seeder?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('a live UpdateConfig of swarm.maxDownloadRate changes the measured download rate within a second, no restart', async () => {
    const admin = createAdminClient(adminUrl)
    const pid = edge!.pid
    const get = timedGet(`${httpUrl}/content/${bigContent}`)
    // wait for the first bytes, then measure the limited rate over 1.5 s
    await until(() => get.samples.length > 0, 15_000, 'the first bytes')
    const first = get.samples[0][0]
    await new Promise(resolve => setTimeout(resolve, 2000))
    const limited = bytesBetween(get.samples, first + 500, first + 2000) / 1.5
    expect(limited).toBeGreaterThan(0.5e6)
    expect(limited).toBeLessThan(1.6e6)

    const tUpdate = performance.now() - get.t0
    const res = await admin.updateConfig({ config: { swarm: { maxDownloadRate: '40MB' } }, updateMask: [] })
    expect(res.changed).toEqual(['swarm.maxDownloadRate'])
    expect((res.config?.swarm as any).maxDownloadRate).toBe(40_000_000)
    const total = await get.done
    expect(total).toBe(big.length)
    // when the rate over the trailing 200 ms first exceeded three times the old limit
    let reachedAt: number | undefined
    for (let t = tUpdate + 10; t <= tUpdate + 1000 && reachedAt === undefined; t += 10) {
      if (bytesBetween(get.samples, t - 200, t) / 0.2 > 3e6) reachedAt = t - tUpdate
    }
    const after = bytesBetween(get.samples, tUpdate, tUpdate + 1000)
    process.stdout.write(`download rate: ${(limited / 1e6).toFixed(2)} MB/s at the 1MB limit; ${(after / 1e6).toFixed(2)} MB in the second after UpdateConfig (40MB); >3 MB/s reached ${reachedAt?.toFixed(0)} ms after the call\n`)
    expect(reachedAt).toBeDefined()
    expect(reachedAt!).toBeLessThanOrEqual(1000)
    expect(edge!.pid).toBe(pid)
    expect(edge!.exitCode).toBeNull()
  }, 60_000)

  it('refuses a bad update with three wrong keys, naming all three, and changes nothing', async () => {
    const admin = createAdminClient(adminUrl)
    const before = await admin.getConfig({})
    const err = await rejection(admin.updateConfig({
      config: { swarm: { maxUploadRate: 'fast', regularUnchokeSlots: -2 }, fetch: { strategy: 'fastest-first' }, logLevel: 'debug' },
      updateMask: []
    }))
    expect(err.code).toBe(Code.InvalidArgument)
    for (const key of ['swarm.maxUploadRate', 'swarm.regularUnchokeSlots', 'fetch.strategy']) expect(err.rawMessage).toContain(key)
    const after = await admin.getConfig({})
    expect(after.config).toEqual(before.config)
    expect(after.sources).toEqual(before.sources)
    expect((after.config as any).logLevel).toBe('info')
  })

  it('refuses a restart-only key with FailedPrecondition naming it', async () => {
    const admin = createAdminClient(adminUrl)
    const err = await rejection(admin.updateConfig({ config: { http: { port: 1 }, swarm: { maxUploadRate: '5MB' } }, updateMask: [] }))
    expect(err.code).toBe(Code.FailedPrecondition)
    expect(err.rawMessage).toContain('http.port')
    expect(err.rawMessage).not.toContain('maxUploadRate')
    expect(((await admin.getConfig({})).config as any).swarm.maxUploadRate).toBe(0)
  })

  it('GetConfig names each setting\'s source (default, file, env, runtime) and shows file paths, not secrets', async () => {
    const admin = createAdminClient(adminUrl)
    await admin.updateConfig({ config: { logLevel: 'debug' }, updateMask: ['logLevel'] })
    const view = await admin.getConfig({})
    const source = Object.fromEntries(view.sources.map(s => [s.path, s]))
    expect(source['swarm.maxDownloadRate']).toMatchObject({ source: 'runtime', live: true, redacted: false })
    expect(source.logLevel.source).toBe('runtime')
    expect(source['fetch.lookupTimeout']).toMatchObject({ source: 'file', live: true })
    expect(source['fetch.streamingWindow'].source).toBe('env')
    expect(source['fetch.maxInFlight'].source).toBe('default')
    expect(source['http.port']).toMatchObject({ source: 'file', live: false })
    expect(source['tracker.natsPasswordFile']).toMatchObject({ source: 'file', redacted: false })
    expect((view.config as any).tracker.natsPasswordFile).toBe(join(dir, 'nats-password'))
    expect(JSON.stringify(view)).not.toContain('pw-that-must-not-show')
    expect(view.sources.some(s => s.redacted)).toBe(false)
    expect((view.config as any).fetch.streamingWindow).toBe(4)
  })

  it('TrustKey and RevokeKey: a revoked key\'s content leaves the store and its new manifests get 502', async () => {
    const admin = createAdminClient(adminUrl)
    const keyA = encodePublicKey(publisherA.publicKey)
    const keyB = encodePublicKey(publisherB.publicKey)
    expect((await fetch(`${httpUrl}/content/${contentB}`)).status).toBe(200)
    await until(async () => await admin.listContent({}).then(r => r.contentIds.includes(contentB.toString()), () => false), 10_000, 'content B held whole')

    const bad = await rejection(admin.trustKey({ publicKey: 'not-a-key' }))
    expect(bad.code).toBe(Code.InvalidArgument)
    const keyC = encodePublicKey((await generateKeyPair()).publicKey)
    await admin.trustKey({ publicKey: keyC })

    const revoked = await admin.revokeKey({ publicKey: keyB })
    expect(revoked.purgedContentIds).toEqual([contentB.toString()])
    const held = (await admin.listContent({})).contentIds
    expect(held).not.toContain(contentB.toString())
    expect(held).toContain(bigContent.toString())
    const res = await fetch(`${httpUrl}/content/${contentB}`)
    expect(res.status).toBe(502)
    expect((await res.json() as { error: string }).error).toBe('UntrustedPublisherError')

    // a manifest B signs after the revocation is refused too
    const fresh = await publish(seeder, publisherB, randomBytes(CHUNK))
    const again = await fetch(`${httpUrl}/content/${fresh}`)
    expect(again.status).toBe(502)
    expect((await again.json() as { error: string }).error).toBe('UntrustedPublisherError')
    // A's content is still served
    expect((await fetch(`${httpUrl}/content/${bigContent}`, { method: 'HEAD' })).status).toBe(200)

    const keys = (await admin.listKeys({})).keys.map(k => ({ publicKey: k.publicKey, revoked: k.revoked, source: k.source }))
    expect(keys).toEqual(expect.arrayContaining([
      { publicKey: keyA, revoked: false, source: 'file' },
      { publicKey: keyB, revoked: true, source: 'file' },
      { publicKey: keyB, revoked: true, source: 'runtime' },
      { publicKey: keyC, revoked: false, source: 'runtime' }
    ]))
  }, 60_000)

  it('runtime changes survive a restart, until the file changes them', async () => {
    let admin = createAdminClient(adminUrl)
    await admin.updateConfig({ config: { swarm: { maxUploadRate: '3MB' } }, updateMask: [] })
    const persisted = JSON.parse(await readFile(join(dir, 'edge', 'runtime-config.json'), 'utf8'))
    expect(persisted.settings['swarm.maxDownloadRate']).toEqual({ value: '40MB', file: '1MB' })
    expect(persisted.settings['swarm.maxUploadRate']).toEqual({ value: '3MB' })

    await stopEdge()
    await startEdge()
    admin = createAdminClient(adminUrl)
    let view = await admin.getConfig({})
    let source = Object.fromEntries(view.sources.map(s => [s.path, s.source]))
    expect((view.config as any).swarm).toMatchObject({ maxDownloadRate: 40_000_000, maxUploadRate: 3_000_000 })
    expect(source['swarm.maxDownloadRate']).toBe('runtime')
    // the revocation persisted too: B's content is still refused
    expect((await fetch(`${httpUrl}/content/${contentB}`)).status).toBe(502)

    // the operator edits the file: its new download limit wins over the older runtime change
    await stopEdge()
    await writeFile(tomlFile, baseToml + '[swarm]\nmaxDownloadRate = "2MB"\n')
    await startEdge()
    admin = createAdminClient(adminUrl)
    view = await admin.getConfig({})
    source = Object.fromEntries(view.sources.map(s => [s.path, s.source]))
    expect((view.config as any).swarm).toMatchObject({ maxDownloadRate: 2_000_000, maxUploadRate: 3_000_000 })
    expect(source['swarm.maxDownloadRate']).toBe('file')
    expect(source['swarm.maxUploadRate']).toBe('runtime')
    const logText = await readFile(join(dir, 'edge.log'), 'utf8')
    expect(logText).toMatch(/file wins/)
  }, 90_000)
})
