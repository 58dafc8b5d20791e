import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeManifest, parseContentId } from '@codio/content'
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

async function put (url: string, body: Uint8Array, headers: Record<string, string> = {}): Promise<{ status: number, json: any }> {
  const res = await fetch(`${url}/content`, { method: 'PUT', body, headers: { 'content-type': 'application/octet-stream', ...headers } })
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
    expect((await res.json()).message).toMatch(/chunk size/)
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
  it('keeps published content across a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'codio-origin-'))
    try {
      let origin = await makeOrigin(dir)
      await origin.start()
      const { json } = await put(origin.httpUrl, randomBytes(100_000))
      await origin.stop()
      origin = await makeOrigin(dir)
      await origin.start()
      try {
        expect((await origin.peer.store.listContents()).map(String)).toContain(json.cid)
        expect(await origin.peer.store.get(parseContentId(json.cid))).toBeDefined()
      } finally {
        await origin.stop()
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
