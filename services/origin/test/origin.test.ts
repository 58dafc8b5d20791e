import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeManifest, parseContentId, verifyManifest } from '@codio/content'
import { loadPublicKey, TrustedKeys } from '@codio/signing'
import { fecPlan } from '@codio/fec'
import { createLogger } from '@codio/telemetry'
import { createOrigin, type Origin } from '../src/origin.js'
import { originConfigSchema } from '../src/config.js'

const log = createLogger({ name: 'origin-test', level: 'silent' })

async function filesUnder (dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries.filter(e => e.isFile()).map(e => join(e.parentPath, e.name)).sort()
}

function makeOrigin (dir: string, maxUploadBytes = 8 * 1024 * 1024): Promise<Origin> {
  return createOrigin(originConfigSchema.parse({
    dataDir: join(dir, 'origin'),
    http: { port: 0 },
    admin: { port: 0 },
    publisher: { keyFile: join(dir, 'publisher.jwk') },
    ingest: { maxUploadBytes, chunkSize: 65536 }
  }), log, 'test')
}

async function put (url: string, body: Uint8Array, headers: Record<string, string> = {}, query = ''): Promise<{ status: number, json: any }> {
  const res = await fetch(`${url}/content${query}`, { method: 'PUT', body, headers: { 'content-type': 'application/octet-stream', ...headers } })
  return { status: res.status, json: await res.json() }
}

describe('origin ingest over HTTP', () => {
  let dir: string
  let origin: Origin

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'codio-origin-'))
    origin = await makeOrigin(dir)
    await origin.start()
  })

  afterAll(async () => {
    await origin.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('protects an upload with the requested FEC code: parity stored and named, any k of k+m rebuild a group', async () => {
    const body = randomBytes(7 * 65536 + 1234) // 8 chunks: groups of 3, 3, 2 at 3+2
    const { status, json } = await put(origin.httpUrl, body, {}, '?fec=3%2B2')
    expect(status).toBe(201)
    expect(json).toMatchObject({ chunks: 8, parityChunks: 6, fec: '3+2' })
    const manifest = decodeManifest((await origin.peer.store.get(parseContentId(json.cid)))!)
    expect(manifest.fec).toMatchObject({ dataShards: 3, parityShards: 2 })
    const plan = fecPlan(manifest)!
    expect(plan.groupCount).toBe(3)
    let patterns = 0
    for (let g = 0; g < plan.groupCount; g++) {
      const { first, last } = plan.layout(g)
      const data = await Promise.all(manifest.chunks.slice(first, last + 1).map(async c => (await origin.peer.store.get(c))!))
      const parity = await Promise.all(plan.parity(g).map(async c => (await origin.peer.store.get(c))!))
      const shards = [...data, ...parity]
      // every set of exactly m lost shards (data, parity or both): the k left rebuild the data
      for (const lost of subsets(shards.length, parity.length)) {
        const rebuilt = await plan.rebuild(g, shards.map((c, i) => lost.includes(i) ? undefined : c))
        expect([g, lost, rebuilt.map(c => sha256(c))]).toEqual([g, lost, data.map(c => sha256(c))])
        patterns++
      }
    }
    // C(5,2) for the two full groups, C(4,2) for the last (2 data + 2 parity)
    expect(patterns).toBe(10 + 10 + 6)
  })

  it('uses the configured FEC code by default and none on request; refuses a bad one with 400', async () => {
    const body = randomBytes(200_000)
    const byDefault = await put(origin.httpUrl, body)
    expect(byDefault.json).toMatchObject({ fec: '10+4', chunks: 4, parityChunks: 4 })
    const none = await put(origin.httpUrl, body, {}, '?fec=none')
    expect(none.json).toMatchObject({ fec: 'none', parityChunks: 0 })
    expect(decodeManifest((await origin.peer.store.get(parseContentId(none.json.cid)))!).fec).toBeUndefined()
    for (const bad of ['10', '0%2B4', '250%2B10']) {
      const r = await put(origin.httpUrl, body, {}, `?fec=${bad}`)
      expect(r.status).toBe(400)
      expect(r.json.error).toBe('InvalidFecParamsError')
    }
    // (k + m) × chunk size above the ingest's group memory bound
    const big = await put(origin.httpUrl, body, {}, '?fec=12%2B6&chunkSize=8388608')
    expect(big.status).toBe(400)
    expect(big.json.message).toMatch(/FEC group/)
  })

  it('stores an upload, answers 201 with its content ID, and signs a manifest of its chunks', async () => {
    const body = randomBytes(300_000)
    const { status, json } = await put(origin.httpUrl, body, { 'content-type': 'video/mp4' })
    expect(status).toBe(201)
    expect(json.size).toBe(300_000)
    expect(json.chunks).toBe(5)
    const manifest = decodeManifest((await origin.peer.store.get(parseContentId(json.cid)))!)
    expect(manifest.mediaType).toBe('video/mp4')
    const joined = Buffer.concat(await Promise.all(manifest.chunks.map(async c => (await origin.peer.store.get(c))!)))
    expect(createHash('sha256').update(joined).digest('hex')).toBe(createHash('sha256').update(body).digest('hex'))
    expect(await origin.peer.store.hasContent(parseContentId(json.cid))).toBe(true)
  })

  it('refuses an upload over the limit with 413 and keeps nothing', async () => {
    const before = await filesUnder(join(dir, 'origin'))
    const { status, json } = await put(origin.httpUrl, randomBytes(8 * 1024 * 1024 + 1))
    expect(status).toBe(413)
    expect(json.error).toBe('UploadTooLargeError')
    expect(await filesUnder(join(dir, 'origin'))).toEqual(before)
  })

  it('refuses a bad chunk size with 400', async () => {
    const res = await fetch(`${origin.httpUrl}/content?chunkSize=12`, { method: 'PUT', body: randomBytes(10) })
    expect(res.status).toBe(400)
    expect((await res.json() as { message: string }).message).toMatch(/chunk size/)
  })

  it('publishes nothing and leaves no file when the client disconnects halfway', async () => {
    const before = await filesUnder(join(dir, 'origin'))
    const contentsBefore = (await origin.peer.store.listContents()).length
    await new Promise<void>((resolve) => {
      const req = request(`${origin.httpUrl}/content`, { method: 'PUT', headers: { 'content-length': String(4 * 1024 * 1024) } })
      req.on('error', () => resolve())
      req.write(randomBytes(1024 * 1024), () => {
        // let the origin stage some chunks, then vanish
        setTimeout(() => { req.destroy(); setTimeout(resolve, 300) }, 200)
      })
    })
    // the origin notices the reset asynchronously; give it a bounded moment to clean up
    const deadline = Date.now() + 5000
    let after = await filesUnder(join(dir, 'origin'))
    while (after.length !== before.length && Date.now() < deadline) {
      await new Promise(resolve => setTimeout(resolve, 50))
      after = await filesUnder(join(dir, 'origin'))
    }
    expect(after).toEqual(before)
    expect((await origin.peer.store.listContents()).length).toBe(contentsBefore)
  })
})

describe('origin restart', () => {
  it('keeps published content across a restart: the same peer ID and publisher key, every chunk and parity chunk, byte-exact', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'codio-origin-'))
    try {
      let origin = await makeOrigin(dir)
      await origin.start()
      const body = randomBytes(5 * 65536 + 77)
      const { status, json } = await put(origin.httpUrl, body, {}, '?fec=2%2B1')
      expect(status).toBe(201)
      const peerId = origin.peer.peerId.toString()
      await origin.stop()
      origin = await makeOrigin(dir)
      await origin.start()
      try {
        expect(origin.peer.peerId.toString()).toBe(peerId)
        expect((await origin.peer.store.listContents()).map(String)).toContain(json.cid)
        const manifest = decodeManifest((await origin.peer.store.get(parseContentId(json.cid)))!)
        // the manifest still verifies against the publisher key the restarted origin loaded
        await verifyManifest(manifest, new TrustedKeys([await loadPublicKey(join(dir, 'publisher.jwk'))]))
        const chunks = await Promise.all(manifest.chunks.map(async c => await origin.peer.store.get(c)))
        expect(chunks.every(c => c !== undefined)).toBe(true)
        expect(sha256(Buffer.concat(chunks as Uint8Array[]))).toBe(sha256(body))
        const plan = fecPlan(manifest)!
        for (let g = 0; g < plan.groupCount; g++) {
          for (const c of plan.parity(g)) expect(await origin.peer.store.has(c)).toBe(true)
        }
        expect(await origin.peer.store.hasContent(parseContentId(json.cid))).toBe(true)
      } finally {
        await origin.stop()
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** Every `size`-element subset of 0 … n−1, in lexicographic order. */
function subsets (n: number, size: number): number[][] {
  if (size === 0) return [[]]
  const out: number[][] = []
  for (let first = 0; first <= n - size; first++) {
    for (const rest of subsets(n - first - 1, size - 1)) out.push([first, ...rest.map(i => i + first + 1)])
  }
  return out
}
