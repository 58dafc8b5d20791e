/**
 * Traces across processes, checked for real: a local Codio cluster (origin, relay, edge, tracker
 * with nats-server and redis-server, tokens required) exports OTLP/HTTP to a real OpenTelemetry
 * Collector in its own process (codio-otelcol, built from deploy/otelcol by
 * scripts/install-otelcol.sh; where it is missing, deploy/test/otlp-receiver.mjs stands in); one
 * cold GET at the edge must come back as one trace,
 * rooted at the edge's HTTP SERVER span, every span's parent in it, with spans from the edge
 * and from the origin or relay that served its chunks.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { stringify as stringifyYaml } from 'yaml'
import { freePort } from '@codio/sidecars'
import { startTestCluster, nodeBinary as node, type ClusterProcessInfo, type TestCluster } from './cluster.js'
import { poll as pollEvery, root, stopChild as stop } from './processes.js'

interface Span {
  traceId: string
  spanId: string
  parentSpanId: string
  name: string
  kind: number
  service: string
  attributes: Record<string, unknown>
  status: { code: number, message: string }
  startMs: number
  events: Array<{ name: string }>
}
const SERVER = 2
const STATUS_ERROR = 2
const SIZE = 3 << 20

let dir: string
let receiver: ChildProcess | undefined
let cluster: TestCluster | undefined
let receiverUrl = ''
let trace: Span[] = []
let root0: Span | undefined
let cid = ''
let edgeAdmin = ''
let adminToken = ''

/** The OpenTelemetry Collector scripts/install-otelcol.sh builds (OTLP receiver, file exporter). */
const COLLECTOR = 'codio-otelcol'
const collectorInstalled = spawnSync(COLLECTOR, ['--version']).status === 0
if (!collectorInstalled) console.warn(`${COLLECTOR} is not installed (sh scripts/install-otelcol.sh builds it): the traces go to deploy/test/otlp-receiver.mjs instead`)
let flattenTraces: (body: unknown) => Span[]

/** Every span received: from the Collector's file exporter (one OTLP/JSON request per line), or from the fallback receiver. */
async function spans (): Promise<Span[]> {
  if (!collectorInstalled) return await (await fetch(`${receiverUrl}/spans`, { signal: AbortSignal.timeout(5000) })).json() as Span[]
  const text = await readFile(join(dir, 'spans.jsonl'), 'utf8').catch(() => '')
  return text.split('\n').filter(l => l.trim() !== '').flatMap(l => flattenTraces(JSON.parse(l)))
}

/**
 * A real OpenTelemetry Collector (OTLP/HTTP in, spans to `dir/spans.jsonl`), its own process;
 * resolves with its OTLP/HTTP endpoint once it is ready.
 */
async function startCollector (): Promise<string> {
  const port = await freePort()
  const config = join(dir, 'otelcol.yaml')
  await writeFile(config, stringifyYaml({
    receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${port}` } } } },
    exporters: { file: { path: join(dir, 'spans.jsonl'), flush_interval: '100ms' } },
    service: { telemetry: { metrics: { level: 'none' } }, pipelines: { traces: { receivers: ['otlp'], exporters: ['file'] } } }
  }))
  receiver = spawn(COLLECTOR, ['--config', config], { stdio: ['ignore', 'ignore', 'pipe'] })
  return await new Promise<string>((resolve, reject) => {
    let out = ''
    receiver!.stderr!.on('data', (d: Buffer) => {
      out += d.toString()
      if (out.includes('Everything is ready')) resolve(`http://127.0.0.1:${port}`)
    })
    receiver!.once('exit', code => { reject(new Error(`${COLLECTOR} exited (${code}):\n${out}`)) })
  })
}

/** The fallback: deploy/test/otlp-receiver.mjs, its own process. */
async function startReceiver (): Promise<string> {
  receiver = spawn(node, [join(root, 'deploy', 'test', 'otlp-receiver.mjs'), join(dir, 'spans.jsonl')], { stdio: ['ignore', 'pipe', 'inherit'] })
  return await new Promise<string>((resolve, reject) => {
    let out = ''
    receiver!.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /listening (http:\/\/\S+)/.exec(out)
      if (m != null) resolve(m[1])
    })
    receiver!.once('exit', code => { reject(new Error(`the OTLP receiver exited (${code})`)) })
  })
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'codio-tracing-'))
  flattenTraces = (await import(pathToFileURL(join(root, 'deploy', 'test', 'otlp-spans.mjs')).href)).flattenTraces
  receiverUrl = collectorInstalled ? await startCollector() : await startReceiver()

  cluster = await startTestCluster(dir, {
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl, OTEL_TRACES_SAMPLER: 'always_on', OTEL_BSP_SCHEDULE_DELAY: '100' }
  })
  const { tokens } = cluster
  const byRole = (role: string): ClusterProcessInfo => cluster!.byRole(role)[0]
  const put = await fetch(`${byRole('origin').http}/content`, { method: 'PUT', body: randomBytes(SIZE), headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${tokens.publish}` } })
  expect(put.status).toBe(201)
  cid = (await put.json() as { cid: string }).cid
  edgeAdmin = byRole('edge').admin
  adminToken = tokens.admin

  // ONE cold GET
  const res = await fetch(`${byRole('edge').http}/content/${cid}`)
  expect([res.status, (await res.arrayBuffer()).byteLength]).toEqual([200, SIZE])

  // the edge's server span, then its trace once no span has arrived for a second (the
  // download's cache write and the remote serving spans end after the response)
  const isRoot = (s: Span): boolean => s.service === 'codio-edge' && s.kind === SERVER && s.attributes['url.path'] === `/content/${cid}`
  root0 = await poll('the edge request span', 30_000, async () => (await spans()).find(isRoot))
  let last = -1
  let stableSince = Date.now()
  await poll('the trace to be complete', 30_000, async () => {
    trace = (await spans()).filter(s => s.traceId === root0!.traceId)
    if (trace.length !== last) { last = trace.length; stableSince = Date.now() }
    return Date.now() - stableSince > 1500 ? true : undefined
  })
  process.stdout.write(`span tree of one cold GET (${trace.length} spans):\n${tree(trace)}\n`)
}, 300_000)

afterAll(async () => {
  await cluster?.stop()
  await stop(receiver, () => receiver!.kill('SIGKILL'))
  if (dir != null) await rm(dir, { recursive: true, force: true })
}, 60_000)

test('the edge request is the one root of its trace, and every span\'s parent is in it', () => {
  const roots = trace.filter(s => s.parentSpanId === '')
  expect(roots.map(s => s.spanId)).toEqual([root0!.spanId])
  const ids = new Set(trace.map(s => s.spanId))
  expect(trace.filter(s => s.parentSpanId !== '' && !ids.has(s.parentSpanId)).map(s => `${s.service} ${s.name}`)).toEqual([])
})

test('the trace holds spans of the edge and of the origin or relay that served it', () => {
  const services = new Set(trace.map(s => s.service))
  expect(services.has('codio-edge')).toBe(true)
  expect(services.has('codio-origin') || services.has('codio-relay')).toBe(true)
  // the remote side's serving spans are children of the edge's spans (manifest fetch, download)
  const byId = new Map(trace.map(s => [s.spanId, s]))
  const served = trace.filter(s => s.name === 'chunk serve')
  expect(served.length).toBeGreaterThan(0)
  for (const s of served) {
    expect(s.kind).toBe(SERVER)
    expect(s.service).not.toBe('codio-edge')
    expect(['manifest.fetch', 'swarm.download']).toContain(byId.get(s.parentSpanId)!.name)
  }
})

test('the server span carries the HTTP semantic conventions and status 200', () => {
  expect(root0!.name).toBe('GET /content/:cid')
  expect(root0!.attributes).toMatchObject({
    'http.request.method': 'GET',
    'url.path': `/content/${cid}`,
    'url.scheme': 'http',
    'http.route': '/content/:cid',
    'server.address': '127.0.0.1',
    'http.response.status_code': 200,
    'http.response.body.size': SIZE,
    'codio.cache.result': 'miss'
  })
  expect(root0!.status.code).not.toBe(STATUS_ERROR)
})

test('resolution, manifest and one download span per request, with its per-peer chunk counts', () => {
  const names = trace.filter(s => s.service === 'codio-edge').map(s => s.name)
  for (const n of ['peer.resolve', 'providers.search', 'manifest.fetch', 'manifest.verify', 'swarm.download', 'cache.write']) expect(names).toContain(n)
  const downloads = trace.filter(s => s.name === 'swarm.download')
  expect(downloads).toHaveLength(1)
  const dl = downloads[0].attributes
  const counts = dl['codio.download.peer_chunks'] as number[]
  expect((dl['codio.download.peers'] as string[]).length).toBe(counts.length)
  expect(counts.reduce((a, b) => a + b, 0)).toBe(dl['codio.download.chunks_received'])
  expect(dl['codio.download.chunks_received']).toBeGreaterThanOrEqual(3)
})

test('a tracker RPC is a CLIENT span at the edge and a SERVER span at the tracker, its child', () => {
  const client = trace.find(s => s.kind === 3 && s.name === 'codio.tracker.v1.TrackerService/SelectPeers')
  expect(client?.service).toBe('codio-edge')
  expect(client?.attributes).toMatchObject({ 'rpc.system': 'connect_rpc', 'rpc.service': 'codio.tracker.v1.TrackerService', 'rpc.method': 'SelectPeers' })
  const server = trace.find(s => s.parentSpanId === client!.spanId)
  expect([server?.service, server?.kind, server?.name]).toEqual(['codio-tracker', SERVER, client!.name])
})

test('gossip over NATS carries the trace: the tracker\'s CONSUMER span is the child of the node\'s PRODUCER span', async () => {
  const all = await spans()
  const byId = new Map(all.map(s => [s.spanId, s]))
  const consumed = all.filter(s => s.kind === 5 && s.service === 'codio-tracker' && s.name.startsWith('process codio.gossip.'))
  expect(consumed.length).toBeGreaterThan(0)
  const producers = consumed.map(s => byId.get(s.parentSpanId)).filter(p => p != null)
  expect(producers.length).toBeGreaterThan(0)
  for (const p of producers) {
    expect(p.kind).toBe(4)
    expect(p.service).not.toBe('codio-tracker')
    expect(p.attributes['messaging.system']).toBe('nats')
  }
})

test('the origin\'s ingest of the upload is one span with the content it made, the child of the PUT /content SERVER span', async () => {
  const all = await spans()
  const ingest = all.filter(s => s.name === 'origin.ingest' && s.attributes['codio.content.id'] === cid)
  expect(ingest).toHaveLength(1)
  expect(ingest[0]).toMatchObject({ service: 'codio-origin', attributes: { 'codio.content.size': SIZE, 'codio.content.chunks': 3 } })
  const put = all.find(s => s.spanId === ingest[0].parentSpanId)
  expect(put).toMatchObject({
    name: 'PUT /content',
    service: 'codio-origin',
    kind: SERVER,
    parentSpanId: '',
    attributes: { 'http.request.method': 'PUT', 'http.route': '/content', 'url.path': '/content', 'http.response.status_code': 201 }
  })
})

test('an admin call is a SERVER span with the RPC conventions', async () => {
  const res = await fetch(`${edgeAdmin}/codio.admin.v1.AdminService/GetStatus`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` }, body: '{}' })
  expect(res.status).toBe(200)
  const call = await poll('the admin span', 10_000, async () => (await spans()).find(s => s.service === 'codio-edge' && s.name === 'codio.admin.v1.AdminService/GetStatus'))
  expect(call).toMatchObject({ kind: SERVER, parentSpanId: '', attributes: { 'rpc.system': 'connect_rpc', 'rpc.service': 'codio.admin.v1.AdminService', 'rpc.method': 'GetStatus' } })
  expect(call.status.code).not.toBe(STATUS_ERROR)
})

/** {@link pollEvery} four times a second. */
async function poll<T> (what: string, timeoutMs: number, attempt: () => Promise<T | undefined>): Promise<T> {
  return await pollEvery(what, timeoutMs, attempt, 250)
}

/** The trace as an indented tree: name [service] (kind). */
function tree (all: Span[]): string {
  const children = new Map<string, Span[]>()
  for (const s of all) children.set(s.parentSpanId, [...(children.get(s.parentSpanId) ?? []), s])
  const lines: string[] = []
  const walk = (s: Span, depth: number): void => {
    lines.push(`${'  '.repeat(depth)}${s.name} [${s.service}]${s.kind === SERVER ? ' SERVER' : s.kind === 3 ? ' CLIENT' : ''}`)
    for (const c of (children.get(s.spanId) ?? []).sort((a, b) => a.startMs - b.startMs)) walk(c, depth + 1)
  }
  for (const r of children.get('') ?? []) walk(r, 0)
  return lines.join('\n')
}
