/**
 * Request size limits and malformed messages on the admin listener, over real HTTP
 * connections: a body over the limit (declared or chunked) answers `resource_exhausted` at
 * once, unread, the call never reaching the backend and memory staying flat; a binary message
 * that does not decode answers `invalid_argument` (Connect and gRPC-web); calls within the
 * limit work.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { gzipSync } from 'node:zlib'
import type { JsonObject } from '@bufbuild/protobuf'
import { Code, ConnectError, createClient } from '@connectrpc/connect'
import { createGrpcWebTransport } from '@connectrpc/connect-node'
import { AdminService } from '@codio/proto'
import { postBody as post } from '@codio/testing'
import { createAdminClient, DEFAULT_MAX_REQUEST_BYTES, startAdminServer, type AdminBackend, type AdminServer } from '../src/index.js'

const MiB = 1024 * 1024
/** Bytes of a message no protobuf decoder accepts (field number 2^29−1 with wire type 7). */
const GARBAGE = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x34])

/** Runs `fn` while sampling this process's RSS every 10 ms; resolves with its result and the peak growth (bytes). */
async function peakRssGrowth<T> (fn: () => Promise<T>): Promise<[T, number]> {
  globalThis.gc?.()
  const base = process.memoryUsage().rss
  let peak = base
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss) }, 10)
  try {
    const r = await fn()
    peak = Math.max(peak, process.memoryUsage().rss)
    return [r, peak - base]
  } finally {
    clearInterval(timer)
  }
}

/** A gRPC-web request body: one uncompressed envelope around `message`. */
const envelope = (message: Buffer, flags = 0): Buffer => {
  const head = Buffer.alloc(5)
  head[0] = flags
  head.writeUInt32BE(message.length, 1)
  return Buffer.concat([head, message])
}

const calls: Array<{ config: JsonObject }> = []
const backend: AdminBackend = {
  status: async () => ({ role: 'edge', peerId: 'p', multiaddrs: [], connectedPeers: 0, storedBlocks: 0, storedBytes: 0, contents: 0, uptimeSeconds: 1, version: '0', chunksRebuilt: 0, parityChunksFetched: 0, fecGroupsRepaired: 0 }),
  peerStats: async () => [],
  prefetch: async () => { throw new Error('not here') },
  listContent: async () => [],
  updateConfig: async (config) => { calls.push({ config }); return { changed: Object.keys(config), config } },
  trustKey: async () => { calls.push({ config: {} }) }
}

const BIG = 128 * MiB
const connectJson = { 'content-type': 'application/json' }

describe('admin listener, default limit', () => {
  let server: AdminServer
  const path = (): string => `${server.url}/codio.admin.v1.AdminService/UpdateConfig`
  beforeAll(async () => { server = await startAdminServer({ backend }) })
  afterAll(async () => { await server.close() })

  it('refuses a body declared bigger than 4 MiB before reading it (resource_exhausted), memory flat, backend never called', async () => {
    expect(DEFAULT_MAX_REQUEST_BYTES).toBe(4 * MiB)
    calls.length = 0
    const [r, growth] = await peakRssGrowth(async () => await post(path(), connectJson, { size: BIG, chunked: false }))
    expect(r.status).toBe(429)
    expect(JSON.parse(r.body)).toMatchObject({ code: 'resource_exhausted' })
    expect(r.sent).toBeLessThan(BIG / 2) // the server hung up instead of taking the rest (it drops up to 16 MiB after answering)
    expect(r.ms).toBeLessThan(5000)
    expect(growth).toBeLessThan(64 * MiB)
    expect(calls).toEqual([])
  })

  it('cuts a chunked body off once it passes 4 MiB (resource_exhausted), memory flat, backend never called', async () => {
    calls.length = 0
    const [r, growth] = await peakRssGrowth(async () => await post(path(), connectJson, { size: BIG, chunked: true }))
    expect(r.status).toBe(429)
    expect(JSON.parse(r.body)).toMatchObject({ code: 'resource_exhausted' })
    expect(r.sent).toBeLessThan(BIG / 2)
    expect(r.ms).toBeLessThan(5000)
    expect(growth).toBeLessThan(64 * MiB)
    expect(calls).toEqual([])
  })

  it('refuses a gRPC-web body over the limit (grpc-status 8) and still serves the next call', async () => {
    const r = await post(path(), { 'content-type': 'application/grpc-web+proto' }, { size: 16 * MiB, chunked: true })
    expect(r.status).toBe(200)
    expect(`${r.headers['grpc-status'] as string}${r.body}`).toMatch(/grpc-status:? ?8/)
    expect(calls).toEqual([])
    expect((await createAdminClient(server.url).getStatus({})).role).toBe('edge')
  })
})

describe('admin listener, malformed binary messages', () => {
  let server: AdminServer
  const url = (method: string): string => `${server.url}/codio.admin.v1.AdminService/${method}`
  beforeAll(async () => { server = await startAdminServer({ backend }) })
  afterAll(async () => { await server.close() })

  it('answers invalid_argument, not internal, to garbage sent as application/proto (plain and gzip)', async () => {
    calls.length = 0
    for (const method of ['GetStatus', 'UpdateConfig', 'TrustKey']) {
      const plain = await post(url(method), { 'content-type': 'application/proto' }, GARBAGE)
      expect([method, plain.status, JSON.parse(plain.body).code]).toEqual([method, 400, 'invalid_argument'])
      const zipped = await post(url(method), { 'content-type': 'application/proto', 'content-encoding': 'gzip' }, gzipSync(GARBAGE))
      expect([method, zipped.status, JSON.parse(zipped.body).code]).toEqual([method, 400, 'invalid_argument'])
    }
    expect(calls).toEqual([])
  })

  it('answers invalid_argument to garbage in a gRPC-web envelope and to malformed JSON', async () => {
    const grpcWeb = await post(url('UpdateConfig'), { 'content-type': 'application/grpc-web+proto' }, envelope(GARBAGE))
    expect(grpcWeb.status).toBe(200)
    expect(`${grpcWeb.headers['grpc-status'] as string}${grpcWeb.body}`).toMatch(/grpc-status:? ?3/)
    const json = await post(url('UpdateConfig'), connectJson, Buffer.from('{"config": {'))
    expect([json.status, JSON.parse(json.body).code]).toEqual([400, 'invalid_argument'])
    expect(calls).toEqual([])
  })
})

describe('admin listener, maxRequestBytes = 64 KiB', () => {
  let server: AdminServer
  beforeAll(async () => { server = await startAdminServer({ backend, maxRequestBytes: 64 * 1024 }) })
  afterAll(async () => { await server.close() })

  it('serves calls under the limit over Connect and gRPC-web, and refuses one over it', async () => {
    calls.length = 0
    const client = createAdminClient(server.url)
    const small = { note: 'x'.repeat(32 * 1024) }
    expect((await client.updateConfig({ config: small })).changed).toEqual(['note'])
    const grpcWeb = createClient(AdminService, createGrpcWebTransport({ baseUrl: server.url, httpVersion: '1.1' }))
    expect((await grpcWeb.updateConfig({ config: small })).changed).toEqual(['note'])
    expect(calls.map(c => (c.config.note as string).length)).toEqual([32 * 1024, 32 * 1024])
    const err = await client.updateConfig({ config: { note: 'x'.repeat(100 * 1024) } }).catch((e: unknown) => ConnectError.from(e))
    expect(err).toBeInstanceOf(ConnectError)
    expect((err as ConnectError).code).toBe(Code.ResourceExhausted)
    expect(calls).toHaveLength(2)
  })

  it('refuses a limit outside 1 B .. 4 GiB − 1 B', async () => {
    for (const bad of [0, 1.5, 2 ** 32]) {
      await expect(startAdminServer({ backend, maxRequestBytes: bad })).rejects.toThrow(RangeError)
    }
  })
})
