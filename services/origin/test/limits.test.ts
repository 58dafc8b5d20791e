import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeManifest, encodeManifest, manifestCid, MAX_CHUNK_SIZE, MAX_MANIFEST_BYTES, maxManifestChunks, parseContentId, signManifest, type CID } from '@codio/content'
import { CodioPeer } from '@codio/peer'
import { TrustedKeys, loadOrCreateKeyPair } from '@codio/signing'
import { createLogger, createMetricsRegistry } from '@codio/telemetry'
import { createOrigin, type Origin } from '../src/origin.js'
import { originConfigSchema } from '../src/config.js'

// Ingest limits (issue 19, defects 4, 5, 6, 10): each checked over real HTTP against an
// in-process origin, the wire limits with a second real peer fetching over the chunk exchange.

const log = createLogger({ name: 'origin-limits-test', level: 'silent' })

async function put (url: string, body: Uint8Array, query = '', headers: Record<string, string> = {}): Promise<{ status: number, json: any }> {
  const res = await fetch(`${url}/content${query}`, { method: 'PUT', body, headers: { 'content-type': 'application/octet-stream', ...headers } })
  return { status: res.status, json: await res.json() }
}

/** Sends only the request head (announcing `length` body bytes) and waits for the answer. */
async function headOnly (url: string, path: string, length: number, headers: Record<string, string> = {}): Promise<{ status: number, json: any, ms: number }> {
  const t0 = performance.now()
  return await new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method: 'PUT', headers: { 'content-length': String(length), 'content-type': 'application/octet-stream', ...headers } }, res => {
      let text = ''
      res.on('data', d => { text += String(d) })
      res.on('end', () => { req.destroy(); resolve({ status: res.statusCode!, json: JSON.parse(text), ms: performance.now() - t0 }) })
    })
    req.on('error', reject)
    req.flushHeaders()
  })
}

/** A raw HTTP/1.1 exchange: `head` and `body` written, then `after` (half-close or reset). */
async function raw (url: string, head: string, body: Uint8Array, after: (s: Socket) => void): Promise<string> {
  const { hostname, port } = new URL(url)
  return await new Promise((resolve, reject) => {
    const s = connect(Number(port), hostname, () => {
      s.write(head)
      s.write(body, () => after(s))
    })
    let text = ''
    s.on('data', d => { text += d.toString('latin1') })
    s.on('end', () => resolve(text))
    s.on('close', () => resolve(text))
    s.on('error', err => (err as any).code === 'ECONNRESET' ? resolve(text) : reject(err))
  })
}

/** `codio_ingest_rejected_total{reason="UploadIncompleteError"}`, waited for to exceed `above` (20 s at most). */
async function incompleteAbove (origin: Origin, above: number): Promise<number> {
  const metric = /codio_ingest_rejected_total\{[^}]*reason="UploadIncompleteError"[^}]*\} (\d+)/
  const t0 = performance.now()
  let n = 0
  do {
    n = Number(metric.exec(await (await fetch(`${origin.httpUrl}/metrics`)).text())?.[1] ?? 0)
    if (n > above) break
    await new Promise(resolve => setTimeout(resolve, 50))
  } while (performance.now() - t0 < 20_000)
  return n
}

async function contents (origin: Origin): Promise<string[]> {
  return (await origin.peer.store.listContents()).map(c => c.toString()).sort()
}

describe('origin ingest limits over HTTP', () => {
  let dir: string
  let origin: Origin

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'codio-origin-limits-'))
    origin = await createOrigin(originConfigSchema.parse({
      dataDir: join(dir, 'origin'),
      http: { port: 0 },
      admin: { port: 0 },
      p2p: { quic: false, listen: ['/ip4/127.0.0.1/tcp/0'] },
      publisher: { keyFile: join(dir, 'publisher.jwk') },
      ingest: { maxUploadBytes: 16 * 1024 ** 3, chunkSize: 65536, fec: 'none' }
    }), log, 'test')
    await origin.start()
  })

  afterAll(async () => {
    await origin?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('refuses an empty upload with 400 and a reason, with Content-Length and chunked, storing nothing', async () => {
    const before = await contents(origin)
    const sized = await put(origin.httpUrl, new Uint8Array(0))
    expect(sized.status).toBe(400)
    expect(sized.json.message).toMatch(/empty upload.*0 bytes has no chunks/)
    const chunked = await fetch(`${origin.httpUrl}/content`, { method: 'PUT', body: new ReadableStream({ start (c) { c.close() } }), duplex: 'half' } as any)
    expect(chunked.status).toBe(400)
    expect((await chunked.json() as { message: string }).message).toMatch(/empty upload/)
    expect(await contents(origin)).toEqual(before)
  })

  it('refuses a media type over 255 characters with 400 before reading the body', async () => {
    const long = 'application/' + 'x'.repeat(244) // 256 characters
    const res = await headOnly(origin.httpUrl, '/content', 64 * 1024 * 1024, { 'content-type': long })
    expect(res.status).toBe(400)
    expect(res.json.message).toMatch(/256 characters exceeds the limit of 255/)
    // at the limit it is kept
    const ok = await put(origin.httpUrl, randomBytes(1000), '', { 'content-type': long.slice(0, 255) })
    expect(ok.status).toBe(201)
    const manifest = decodeManifest((await origin.peer.store.get(parseContentId(ok.json.cid)))!)
    expect(manifest.mediaType).toBe(long.slice(0, 255))
  })

  it('refuses a duplicate ?fec= with 400 naming it', async () => {
    const res = await put(origin.httpUrl, randomBytes(1000), '?fec=3%2B2&fec=none')
    expect(res.status).toBe(400)
    expect(res.json.message).toMatch(/fec given 2 times/)
  })

  it('accepts ?fec=k+m unencoded (arriving as "k m"), %2B-encoded and with a space', async () => {
    for (const q of ['?fec=3+2', '?fec=3%2B2', '?fec=3%202']) {
      const res = await put(origin.httpUrl, randomBytes(200_000), q)
      expect(res.status).toBe(201)
      expect(res.json).toMatchObject({ fec: '3+2', chunks: 4, parityChunks: 4 })
    }
  })

  it('bounds FEC codes: group size, parity ratio and group bytes, each at the limit and one over', async () => {
    const body = randomBytes(1000)
    const cases: Array<[string, number, RegExp | undefined]> = [
      ['32%2B32', 16384, undefined], ['33%2B32', 16384, /≤ 64 \(MAX_INGEST_SHARDS\)/],
      ['4%2B4', 16384, undefined], ['4%2B5', 16384, /≤ data shards × 1 \(MAX_PARITY_RATIO\)/],
      ['1%2B255', 16384, /MAX_INGEST_SHARDS/], ['2%2B254', 16384, /MAX_INGEST_SHARDS/],
      ['8%2B8', MAX_CHUNK_SIZE, undefined], ['9%2B8', MAX_CHUNK_SIZE, /over the limit of 134217728 \(MAX_FEC_GROUP_BYTES\)/]
    ]
    for (const [fec, chunkSize, refused] of cases) {
      const res = await put(origin.httpUrl, body, `?fec=${fec}&chunkSize=${chunkSize}`)
      if (refused == null) {
        expect([fec, res.status]).toEqual([fec, 201])
      } else {
        expect([fec, res.status]).toEqual([fec, 400])
        expect(res.json.message).toMatch(refused)
      }
    }
  })

  it('refuses, before the body, an upload whose manifest would exceed what the wire carries (413 naming the limit)', async () => {
    const max = maxManifestChunks()
    const over = await headOnly(origin.httpUrl, '/content?chunkSize=16384', (max * 16384) + 1)
    expect(over.status).toBe(413)
    expect(over.json.message).toContain(`MAX_MANIFEST_BYTES = ${MAX_MANIFEST_BYTES}`)
    expect(over.json.message).toContain(`at most ${max * 16384} bytes at chunk size 16384`)
    const fecMax = maxManifestChunks({ dataShards: 1, parityShards: 1 })
    const fecOver = await headOnly(origin.httpUrl, '/content?chunkSize=16384&fec=1%2B1', (fecMax * 16384) + 1)
    expect(fecOver.status).toBe(413)
    expect(fecOver.json.message).toContain(`at most ${fecMax} chunks with FEC 1+1`)
  })

  it('replies to a client that half-closes after a complete body, and keeps its upload', async () => {
    const body = randomBytes(300_000)
    const { port } = new URL(origin.httpUrl)
    const head = `PUT /content HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\n\r\n`
    const answer = await raw(origin.httpUrl, head, body, s => s.end())
    expect(answer).toMatch(/^HTTP\/1.1 201/)
    const json = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))
    expect(await contents(origin)).toContain(json.cid)
    expect(Buffer.from((await origin.peer.store.get(parseContentId(json.cid)))!).byteLength).toBeGreaterThan(0)
  })

  it('drops the upload of a client that half-closes before its body is complete, and answers 400', async () => {
    const before = await contents(origin)
    const body = randomBytes(300_000)
    const { port } = new URL(origin.httpUrl)
    const head = `PUT /content HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: ${body.length + 1000}\r\n\r\n`
    const dropped = await incompleteAbove(origin, -1)
    const answer = await raw(origin.httpUrl, head, body, s => s.end())
    expect(answer === '' || /^HTTP\/1.1 400/.test(answer)).toBe(true)
    // the ingest ended (no request left hanging on a half-open socket)
    expect(await incompleteAbove(origin, dropped)).toBe(dropped + 1)
    expect(await contents(origin)).toEqual(before)
  })

  it('stops work for a client that is gone: a 20 MiB upload at 16 KiB chunks, reset after its body, keeps nothing', async () => {
    const before = await contents(origin)
    const body = randomBytes(20 * 1024 * 1024)
    const { port } = new URL(origin.httpUrl)
    const head = `PUT /content?chunkSize=16384&fec=32%2B32 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: ${body.length}\r\n\r\n`
    const dropped = await incompleteAbove(origin, -1)
    const t0 = performance.now()
    await raw(origin.httpUrl, head, body, s => s.resetAndDestroy())
    const rejected = await incompleteAbove(origin, dropped)
    const ms = performance.now() - t0
    process.stdout.write(`20 MiB upload at 16 KiB chunks, fec 32+32, client reset after its body: ingest stopped after ${ms.toFixed(0)} ms\n`)
    expect(rejected).toBe(dropped + 1)
    expect(await contents(origin)).toEqual(before)
  })
})

describe('chunks and manifests at the wire limits travel between peers', () => {
  let dir: string
  let origin: Origin
  let fetcher: CodioPeer

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'codio-origin-wire-'))
    origin = await createOrigin(originConfigSchema.parse({
      dataDir: join(dir, 'origin'),
      http: { port: 0 },
      admin: { port: 0 },
      p2p: { quic: false, listen: ['/ip4/127.0.0.1/tcp/0'] },
      publisher: { keyFile: join(dir, 'publisher.jwk') },
      ingest: { maxUploadBytes: 64 * 1024 * 1024, chunkSize: MAX_CHUNK_SIZE, fec: 'none' }
    }), log, 'test')
    await origin.start()
    const { keyPair } = await loadOrCreateKeyPair(join(dir, 'publisher.jwk'))
    fetcher = await CodioPeer.create({
      role: 'relay',
      dataDir: join(dir, 'fetcher'),
      quic: false,
      listen: ['/ip4/127.0.0.1/tcp/0'],
      bootstrap: [origin.peer.node.getMultiaddrs()[0].toString()],
      trustedKeys: new TrustedKeys([keyPair.publicKey]),
      log,
      registry: createMetricsRegistry({ role: 'relay', processMetrics: false })
    })
    await fetcher.start()
    const deadline = Date.now() + 10_000
    while (!fetcher.isReady() && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 50))
  })

  afterAll(async () => {
    await fetcher?.stop()
    await origin?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  async function fetchedIntact (cid: CID): Promise<void> {
    await fetcher.prefetch(cid, AbortSignal.timeout(30_000))
    const manifest = decodeManifest((await fetcher.store.get(cid))!)
    for (const c of manifest.chunks) {
      expect(Buffer.compare(Buffer.from((await fetcher.store.get(c))!), Buffer.from((await origin.peer.store.get(c))!))).toBe(0)
    }
  }

  it('a content of 4 MiB chunks (once cut off at the read buffer) and one of 8 MiB chunks, the largest, fetched byte-exact', async () => {
    for (const chunkSize of [4 * 1024 * 1024, MAX_CHUNK_SIZE]) {
      const res = await put(origin.httpUrl, randomBytes(chunkSize + 1), `?chunkSize=${chunkSize}`)
      expect(res.status).toBe(201)
      expect(res.json.chunks).toBe(2)
      await fetchedIntact(parseContentId(res.json.cid))
    }
    // one byte over the largest chunk is refused at ingest
    const over = await put(origin.httpUrl, randomBytes(1000), `?chunkSize=${MAX_CHUNK_SIZE + 1}`)
    expect(over.status).toBe(400)
    expect(over.json.message).toMatch(/chunk size must be an integer from 16384 to 8388608/)
  })
})

describe('an empty content stored before empty uploads were refused', () => {
  let dir: string
  let origin: Origin

  afterAll(async () => {
    await origin?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('is left out of the availability gossip; the other contents are still announced', async () => {
    dir = await mkdtemp(join(tmpdir(), 'codio-origin-empty-'))
    const make = async (): Promise<Origin> => await createOrigin(originConfigSchema.parse({
      dataDir: join(dir, 'origin'),
      http: { port: 0 },
      admin: { port: 0 },
      p2p: { quic: false, listen: ['/ip4/127.0.0.1/tcp/0'] },
      publisher: { keyFile: join(dir, 'publisher.jwk') },
      ingest: { chunkSize: 65536, fec: 'none' }
    }), log, 'test')
    // what an older origin stored for `PUT /content` with an empty body
    origin = await make()
    const { keyPair } = await loadOrCreateKeyPair(join(dir, 'publisher.jwk'))
    const empty = encodeManifest(await signManifest({ version: 1, size: 0, mediaType: 'application/octet-stream', chunkSize: 65536, chunks: [], createdAt: Date.now(), publisher: keyPair.publicKey }, keyPair))
    const emptyId = manifestCid(empty)
    await origin.peer.store.put(emptyId, empty)
    await origin.peer.markComplete(emptyId)
    await origin.start()
    const res = await put(origin.httpUrl, randomBytes(100_000))
    expect(res.status).toBe(201)
    expect(await contents(origin)).toContain(emptyId.toString())
    const holdings = await origin.peer.swarm.holdings()
    expect(holdings.map(h => h.contentId)).toEqual([res.json.cid])
    expect(holdings.every(h => h.chunkCount >= 1)).toBe(true)
  })
})
