import { existsSync } from 'node:fs'
import { readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { get } from '../src/commands/get.js'
import { ServerError, TruncatedBodyError } from '../src/errors.js'
import { runCli, sendJson, sha256, startServer, tempDir, type TempDir, type TestServer } from './helpers.js'

const CONTENT = randomBytes(5 * 1024 * 1024 + 3)
const CID = 'bafkgood'

/**
 * Edge stand-in: `bafkgood` is served whole; `bafktruncated` announces the full
 * Content-Length, sends half, then drops the connection; anything else is 404.
 */
async function startEdge (): Promise<TestServer> {
  return startServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    if (url.pathname === `/content/${CID}`) {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': CONTENT.length })
      res.end(CONTENT)
    } else if (url.pathname === '/content/bafktruncated') {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': CONTENT.length })
      res.write(CONTENT.subarray(0, CONTENT.length >> 1), () => setTimeout(() => res.socket?.destroy(), 50))
    } else {
      sendJson(res, 404, { error: 'not_found', message: `no provider has ${url.pathname.split('/').at(-1) ?? ''}` })
    }
  })
}

describe('get', () => {
  let tmp: TempDir
  let edge: TestServer

  beforeAll(async () => {
    tmp = await tempDir()
    edge = await startEdge()
  })
  afterAll(async () => {
    await edge.close()
    await tmp.remove()
  })

  it('writes the exact bytes to -o FILE and nothing to stdout', async () => {
    const out = join(tmp.path, 'copy.bin')
    const r = await runCli(['get', CID, '--edge', edge.url, '-o', out])
    expect(r.code).toBe(0)
    expect(r.stdout.length).toBe(0)
    expect(sha256(await readFile(out))).toBe(sha256(CONTENT))
    expect(existsSync(`${out}.partial`)).toBe(false)
    expect(r.stderr).toMatch(/get: 5\.24 MB in [\d.]+ s \([\d.]+ MB\/s\)/)
  })

  it('writes the bytes to stdout without -o, progress on stderr only', async () => {
    const r = await runCli(['get', CID, '--edge', edge.url])
    expect(r.code).toBe(0)
    expect(sha256(r.stdout)).toBe(sha256(CONTENT))
    expect(r.stderr).toContain('get: ')
  })

  it('exits 1 and leaves no FILE or FILE.partial when the edge closes mid-body', async () => {
    const dir = join(tmp.path, 'trunc')
    const { mkdir } = await import('node:fs/promises')
    await mkdir(dir)
    const out = join(dir, 'copy.bin')
    const r = await runCli(['get', 'bafktruncated', '--edge', edge.url, '-o', out])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/truncated: received \d+ of 5242883 bytes/)
    expect(await readdir(dir)).toEqual([])
  })

  it('keeps an existing FILE untouched when the download fails', async () => {
    const out = join(tmp.path, 'keep.bin')
    await writeFile(out, 'old')
    const r = await runCli(['get', 'bafktruncated', '--edge', edge.url, '-o', out, '-q'])
    expect(r.code).toBe(1)
    expect(await readFile(out, 'utf8')).toBe('old')
    expect(existsSync(`${out}.partial`)).toBe(false)
  })

  it('exits 1 with the edge\'s reason on a 404', async () => {
    const out = join(tmp.path, 'missing.bin')
    const r = await runCli(['get', 'bafkmissing', '--edge', edge.url, '-o', out])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('no provider has bafkmissing')
    expect(r.stderr).toContain('404')
    expect(existsSync(out)).toBe(false)
    expect(existsSync(`${out}.partial`)).toBe(false)
  })

  it('as a function: typed errors', async () => {
    const out = join(tmp.path, 'fn.bin')
    await expect(get('bafkmissing', { edge: edge.url, output: out, quiet: true })).rejects.toBeInstanceOf(ServerError)
    await expect(get('bafktruncated', { edge: edge.url, output: out, quiet: true })).rejects.toBeInstanceOf(TruncatedBodyError)
    expect(existsSync(`${out}.partial`)).toBe(false)
    await expect(get(CID, { edge: edge.url, output: out, quiet: true })).resolves.toEqual({ cid: CID, bytes: CONTENT.length, path: out })
  })
})
