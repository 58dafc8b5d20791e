import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { contentUrl, resolveEndpoint } from '../src/endpoints.js'
import { ClusterFileError, MissingEndpointError } from '../src/errors.js'
import { lastLine, randomFile, runCli, sendJson, sha256, startServer, tempDir, type TempDir, type TestServer } from './helpers.js'

function clusterJson (origin: string, edge: string): string {
  const proc = (role: string, name: string, http: string, pid: number): unknown =>
    ({ role, name, pid, http, admin: 'http://127.0.0.1:1', peerId: '12D3KooWtest', multiaddrs: ['/ip4/127.0.0.1/tcp/1'] })
  return JSON.stringify({
    processes: [
      proc('relay', 'relay-1', 'http://127.0.0.1:9', 2),
      proc('origin', 'origin', origin, 1),
      proc('edge', 'edge-1', edge, 3),
      proc('edge', 'edge-2', 'http://127.0.0.1:9', 4)
    ],
    sample: { cid: 'bafksample', path: 'sample.bin' }
  })
}

describe('URL defaults', () => {
  let tmp: TempDir
  let server: TestServer
  const stored = new Map<string, Buffer>()

  beforeAll(async () => {
    tmp = await tempDir()
    // one server plays origin and edge: PUT stores, GET serves
    server = await startServer((req, res) => {
      const parts: Buffer[] = []
      req.on('data', (b: Buffer) => parts.push(b))
      req.on('end', () => {
        if (req.method === 'PUT') {
          const data = Buffer.concat(parts)
          const cid = `bafk${sha256(data).slice(0, 16)}`
          stored.set(cid, data)
          sendJson(res, 201, { cid, size: data.length, chunks: 1 })
          return
        }
        const data = stored.get(req.url?.split('/').at(-1) ?? '')
        if (data == null) { sendJson(res, 404, { error: 'not_found', message: 'unknown cid' }); return }
        res.writeHead(200, { 'Content-Length': data.length })
        res.end(data)
      })
    })
    await mkdir(join(tmp.path, 'cwd', '.codio'), { recursive: true })
    await writeFile(join(tmp.path, 'cwd', '.codio', 'cluster.json'), clusterJson(server.url, server.url))
  })
  afterAll(async () => {
    await server.close()
    await tmp.remove()
  })

  it('publish and get find the origin and first edge in ./.codio/cluster.json', async () => {
    const cwd = join(tmp.path, 'cwd')
    const { path, data } = await randomFile(tmp.path, 'a.bin', 100_000)
    const pub = await runCli(['publish', path], { cwd })
    expect(pub.code).toBe(0)
    const cid = lastLine(pub.stdout)
    const got = await runCli(['get', cid, '-o', 'out.bin'], { cwd })
    expect(got.code).toBe(0)
    const { readFile } = await import('node:fs/promises')
    expect(sha256(await readFile(join(cwd, 'out.bin')))).toBe(sha256(data))
  })

  it('without flag, env or cluster.json: exit 1 telling the user to npm start or pass the flag', async () => {
    const cwd = join(tmp.path, 'empty')
    await mkdir(cwd)
    const { path } = await randomFile(tmp.path, 'b.bin', 10)
    const pub = await runCli(['publish', path], { cwd })
    expect(pub.code).toBe(1)
    expect(pub.stderr).toContain('npm start')
    expect(pub.stderr).toContain('--origin')
    const got = await runCli(['get', 'bafkx'], { cwd })
    expect(got.code).toBe(1)
    expect(got.stderr).toContain('--edge')
  })

  it('flag beats env beats cluster.json', async () => {
    const cwd = join(tmp.path, 'cwd')
    expect(await resolveEndpoint('edge', { cwd, env: {} })).toBe(server.url)
    expect(await resolveEndpoint('origin', { cwd, env: {} })).toBe(server.url)
    expect(await resolveEndpoint('edge', { cwd, env: { CODIO_EDGE: 'http://env:1' } })).toBe('http://env:1')
    expect(await resolveEndpoint('edge', { cwd, env: { CODIO_EDGE: 'http://env:1' }, flag: 'http://flag:2' })).toBe('http://flag:2')
    expect(await resolveEndpoint('origin', { cwd, env: { CODIO_ORIGIN: 'http://o:3', CODIO_EDGE: 'http://e:4' } })).toBe('http://o:3')
  })

  it('CODIO_ORIGIN reaches the child process', async () => {
    const cwd = join(tmp.path, 'empty2')
    await mkdir(cwd)
    const { path } = await randomFile(tmp.path, 'c.bin', 10)
    const pub = await runCli(['publish', path, '-q'], { cwd, env: { CODIO_ORIGIN: server.url } })
    expect(pub.code).toBe(0)
  })

  it('typed errors for a missing or malformed cluster.json', async () => {
    await expect(resolveEndpoint('origin', { cwd: join(tmp.path, 'nowhere'), env: {} })).rejects.toBeInstanceOf(MissingEndpointError)
    const bad = join(tmp.path, 'bad')
    await mkdir(join(bad, '.codio'), { recursive: true })
    await writeFile(join(bad, '.codio', 'cluster.json'), '{ not json')
    await expect(resolveEndpoint('origin', { cwd: bad, env: {} })).rejects.toBeInstanceOf(ClusterFileError)
    await writeFile(join(bad, '.codio', 'cluster.json'), JSON.stringify({ processes: [] }))
    await expect(resolveEndpoint('edge', { cwd: bad, env: {} })).rejects.toBeInstanceOf(MissingEndpointError)
  })

  it('contentUrl keeps a base path and escapes the cid', () => {
    expect(contentUrl('http://h:1').href).toBe('http://h:1/content')
    expect(contentUrl('http://h:1/api/', 'a/b').href).toBe('http://h:1/api/content/a%2Fb')
  })
})
