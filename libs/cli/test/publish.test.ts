import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { Writable } from 'node:stream'
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { publish } from '../src/commands/publish.js'
import { FileNotFoundError, ServerError } from '../src/errors.js'
import { lastLine, randomFile, runCli, sendJson, sha256, startServer, tempDir, type TempDir, type TestServer } from './helpers.js'

interface Received { sha256: string, bytes: number, contentType?: string, contentLength?: string, chunkSize: string | null, fec: string | null, query: string }

/** Origin stand-in: streams `PUT /content` to a temp file while hashing it. */
async function startOrigin (dir: string): Promise<{ server: TestServer, received: Received[] }> {
  const received: Received[] = []
  let n = 0
  const server = await startServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    if (req.method !== 'PUT' || url.pathname !== '/content') { sendJson(res, 404, { error: 'not_found', message: 'no route' }); return }
    const hash = createHash('sha256')
    let bytes = 0
    const sink = createWriteStream(join(dir, `upload-${n++}`))
    req.on('data', (b: Buffer) => { hash.update(b); bytes += b.length })
    pipeline(req, sink).then(() => {
      const digest = hash.digest('hex')
      received.push({ sha256: digest, bytes, contentType: req.headers['content-type'], contentLength: req.headers['content-length'], chunkSize: url.searchParams.get('chunkSize'), fec: url.searchParams.get('fec'), query: url.search })
      const fec = url.searchParams.get('fec') ?? '10+4'
      const chunks = Math.ceil(bytes / 262144)
      const parityChunks = fec === 'none' ? 0 : Math.ceil(chunks / Number(fec.split('+')[0])) * Number(fec.split('+')[1])
      sendJson(res, 201, { cid: `bafk${digest.slice(0, 32)}`, size: bytes, chunks, parityChunks, fec })
    }, () => {})
  })
  return { server, received }
}

describe('publish', () => {
  let tmp: TempDir
  let origin: { server: TestServer, received: Received[] }

  beforeAll(async () => {
    tmp = await tempDir()
    origin = await startOrigin(tmp.path)
  })
  afterAll(async () => {
    await origin.server.close()
    await tmp.remove()
  })

  it('streams a multi-megabyte file byte-identically and prints the cid as the last stdout line', async () => {
    const { path, data } = await randomFile(tmp.path, 'clip.mp4', 12 * 1024 * 1024 + 17)
    const before = origin.received.length
    const r = await runCli(['publish', path, '--origin', origin.server.url, '--chunk-size', '256k', '--fec', '8+2'])
    expect(r.stderr).toMatch(/publish: .*MB in [\d.]+ s \([\d.]+ MB\/s\)/)
    expect(r.code).toBe(0)
    const got = origin.received[before]
    expect(got.sha256).toBe(sha256(data))
    expect(got.bytes).toBe(data.length)
    expect(got.contentLength).toBe(String(data.length))
    expect(got.contentType).toBe('video/mp4')
    expect(got.chunkSize).toBe('262144')
    expect(got.fec).toBe('8+2')
    // the + percent-encoded: a bare + in a query string means a space
    expect(got.query).toContain('fec=8%2B2')
    expect(lastLine(r.stdout)).toBe(`bafk${sha256(data).slice(0, 32)}`)
  })

  it('sends --type as the Content-Type and octet-stream for unknown extensions', async () => {
    const { path } = await randomFile(tmp.path, 'blob.weird', 1000)
    const before = origin.received.length
    let r = await runCli(['publish', path, '--origin', origin.server.url, '--quiet'])
    expect(r.code).toBe(0)
    expect(r.stderr).toBe('')
    expect(origin.received[before].contentType).toBe('application/octet-stream')
    expect(origin.received[before].chunkSize).toBeNull()
    r = await runCli(['publish', path, '--origin', origin.server.url, '--type', 'text/x-custom', '-q'])
    expect(r.code).toBe(0)
    expect(origin.received[before + 1].contentType).toBe('text/x-custom')
  })

  it('exits 1 with the origin\'s reason on a 413', async () => {
    const server = await startServer((req, res) => {
      req.resume()
      sendJson(res, 413, { error: 'too_large', message: 'content exceeds the 1 MiB limit' })
    })
    try {
      const { path } = await randomFile(tmp.path, 'big.bin', 8 * 1024 * 1024)
      const r = await runCli(['publish', path, '--origin', server.url])
      expect(r.code).toBe(1)
      expect(r.stderr).toContain('content exceeds the 1 MiB limit')
      expect(r.stderr).toContain('413')
      expect(r.stdout.toString()).toBe('')
    } finally {
      await server.close()
    }
  })

  it('exits 1 with the origin\'s 403 and reason when it refuses at the headers and closes mid-upload', async () => {
    // answers as soon as the headers arrive, then closes with the body unread (a reset): the
    // CLI's next write fails with EPIPE or ECONNRESET while the answer waits in its socket
    const server = await startServer((_req, res) => {
      const text = JSON.stringify({ error: 'Forbidden', message: 'the token lacks the publish scope' })
      res.writeHead(403, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), Connection: 'close' })
      res.end(text, () => res.socket?.destroy())
    })
    try {
      const { path } = await randomFile(tmp.path, 'refused.bin', 32 * 1024 * 1024)
      // the write error and the answer race in the CLI's event loop: without keepAnswerOnCut
      // 12 runs in 20 printed "write ECONNRESET", so 8 runs all but surely see that order
      for (let i = 0; i < 8; i++) {
        const r = await runCli(['publish', path, '--origin', server.url, '-q'])
        expect(r.stderr).toBe('codio publish: origin answered 403 Forbidden: the token lacks the publish scope\n')
        expect(r.code).toBe(1)
        expect(r.stdout.toString()).toBe('')
      }
    } finally {
      await server.close()
    }
  }, 30_000)

  it('exits 1 with a clear message for a missing file', async () => {
    const r = await runCli(['publish', join(tmp.path, 'nope.bin'), '--origin', origin.server.url])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/no such file: .*nope\.bin/)
    expect(r.stdout.toString()).toBe('')
  })

  it('rejects a bad --chunk-size before uploading', async () => {
    const { path } = await randomFile(tmp.path, 'small.bin', 10)
    const r = await runCli(['publish', path, '--origin', origin.server.url, '--chunk-size', 'lots'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('--chunk-size')
  })

  it('as a function: returns the origin\'s answer and throws typed errors', async () => {
    const { path, data } = await randomFile(tmp.path, 'page.html', 300_000)
    const result = await publish(path, { origin: origin.server.url, quiet: true })
    expect(result).toEqual({ cid: `bafk${sha256(data).slice(0, 32)}`, size: data.length, chunks: 2, parityChunks: 4, fec: '10+4' })
    await expect(publish(join(tmp.path, 'missing'), { origin: origin.server.url })).rejects.toBeInstanceOf(FileNotFoundError)
    const err = await publish(path, { origin: origin.server.url + '/nowhere', quiet: true }).catch(e => e)
    expect(err).toBeInstanceOf(ServerError)
    expect(err).toMatchObject({ status: 404, code: 'not_found', reason: 'no route' })
  })

  it('prints progress lines and a summary to a non-TTY stream', async () => {
    const { path } = await randomFile(tmp.path, 'lines.bin', 2 * 1024 * 1024)
    const lines: string[] = []
    const stderr = new Writable({ write (chunk, _enc, cb) { lines.push(String(chunk)); cb() } })
    await publish(path, { origin: origin.server.url, stderr })
    expect(lines.at(-1)).toMatch(/^publish: 2\.10 MB in [\d.]+ s \([\d.]+ MB\/s\)\n$/)
  })
})
