/**
 * The dashboards and the Prometheus rules, checked three ways: promtool, the dashboards'
 * structure (and that they are what deploy/grafana/dashboards.mjs writes), and every query run
 * against a live Prometheus scraping a real Codio cluster
 * (origin, relay, edge, tracker with nats-server and redis-server; bearer tokens required as in
 * production), so a renamed metric or label fails here rather than as an empty panel in production.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { openSync, readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Ajv } from 'ajv'
import { createGenerator } from 'ts-json-schema-generator'
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml'
import { freePort } from '@codio/sidecars'
import { startTestCluster, type TestCluster } from './cluster.js'
import { availabilitySubject, encodeAvailability } from '@codio/tracker'

const deployDir = fileURLToPath(new URL('..', import.meta.url))
const root = join(deployDir, '..')
const rulesPath = join(deployDir, 'prometheus', 'rules', 'codio.rules.yaml')
const dashboardDir = join(deployDir, 'grafana', 'dashboards')
const JOBS = { edge: 'codio-edge', relay: 'codio-relay', origin: 'codio-origin', tracker: 'codio-tracker' } as const

interface Target { refId: string, expr: string, datasource?: { uid?: string } }
interface Panel { id: number, title: string, type: string, gridPos?: Record<string, number>, datasource?: { type?: string, uid?: string }, targets?: Target[], panels?: Panel[] }
interface Rule { record?: string, alert?: string, expr: string, labels?: Record<string, string>, annotations?: Record<string, string> }

const dashboardFiles = readdirSync(dashboardDir).filter(f => f.endsWith('.json')).sort()
const dashboards: Record<string, any> = Object.fromEntries(dashboardFiles.map(f => [f, JSON.parse(readFileSync(join(dashboardDir, f), 'utf8'))]))
const dashboard = dashboards['codio-overview.json']
/** Every panel of every dashboard, with the dashboard's uid. */
const panels: Array<Panel & { uid: string }> = Object.values(dashboards).flatMap((d: { uid: string, panels: Panel[] }) =>
  d.panels.flatMap((p: Panel) => [p, ...(p.panels ?? [])]).map(p => ({ ...p, uid: d.uid })))
const rules: Rule[] = (parseYaml(readFileSync(rulesPath, 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap(g => g.rules)

function requireBinary (name: string): void {
  if (spawnSync(name, ['--version']).error != null) {
    throw new Error(`${name} is not installed: apt-get install -y prometheus (Debian's package provides prometheus and promtool)`)
  }
}

// How Grafana would expand the variables with "All" selected; the window spans several 1 s scrapes.
const VARIABLES: Record<string, string> = { namespace: '.*', job: 'codio-.+', role: '.+', instance: '.+', __rate_interval: '30s', __interval: '5s', __range: '5m' }
function substitute (expr: string): string {
  return expr.replace(/\$\{?(\w+)(?::\w+)?\}?/g, (_, name: string) => {
    if (VARIABLES[name] == null) throw new Error(`no test value for $${name} in ${expr}`)
    return VARIABLES[name]
  })
}

const NOT_METRICS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan'])
/** The metric names a PromQL expression selects (no full parser: strip what cannot be one). */
function metricNames (expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}|\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
  const names = new Set<string>()
  for (const m of bare.matchAll(/(?<![\w.])[A-Za-z_:][\w:]*/g)) {
    const followedByCall = /^\s*\(/.test(bare.slice(m.index + m[0].length))
    if (!followedByCall && !NOT_METRICS.has(m[0].toLowerCase())) names.add(m[0])
  }
  return [...names]
}

test('promtool accepts the rules file', () => {
  requireBinary('promtool')
  const r = spawnSync('promtool', ['check', 'rules', rulesPath], { encoding: 'utf8' })
  expect(`${r.stdout}${r.stderr}`).toContain('SUCCESS')
  expect(r.status).toBe(0)
})

test('every alert has a severity, a summary, a runbook line and a description', () => {
  const alerts = rules.filter(r => r.alert != null)
  expect(alerts.map(a => a.alert)).toContain('CodioTargetDown')
  const incomplete = alerts.filter(a => !/^(critical|warning|info)$/.test(a.labels?.severity ?? '') || a.annotations?.summary == null || a.annotations?.runbook == null || a.annotations?.description == null)
  expect(incomplete.map(a => a.alert)).toEqual([])
})

test('the dashboards are the ones deploy/grafana/dashboards.mjs writes, in both places', async () => {
  const { DASHBOARDS, render } = await import(pathToFileURL(join(deployDir, 'grafana', 'dashboards.mjs')).href)
  expect(Object.keys(DASHBOARDS).sort()).toEqual(dashboardFiles)
  for (const dir of [dashboardDir, join(deployDir, 'helm', 'codio', 'files', 'dashboards')]) {
    expect(readdirSync(dir).sort()).toEqual(dashboardFiles)
    for (const f of dashboardFiles) expect([f, readFileSync(join(dir, f), 'utf8')]).toEqual([f, render(DASHBOARDS[f])])
  }
})

test('the dashboards are on the current schema version of @grafana/schema', async () => {
  const { defaultDashboard } = await import('@grafana/schema')
  for (const [file, d] of Object.entries(dashboards)) expect([file, d.schemaVersion]).toEqual([file, defaultDashboard.schemaVersion])
})

test('the dashboards are well formed', () => {
  expect(dashboardFiles).toEqual(['codio-dht.json', 'codio-edge.json', 'codio-origin-relay.json', 'codio-overview.json', 'codio-swarm.json', 'codio-tracker.json'])
  expect(dashboard).toMatchObject({ uid: 'codio-overview', title: 'Codio overview' })
  for (const [file, d] of Object.entries(dashboards)) {
    expect([file, d.uid]).toEqual([file, file.replace(/\.json$/, '')])
    expect(d.templating.list.find((v: { name: string }) => v.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' })
    expect(d.templating.list.map((v: { name: string }) => v.name)).toEqual(['datasource', 'namespace', 'job', 'role', 'instance'])
    const ids = d.panels.map((p: Panel) => p.id)
    expect(new Set(ids).size).toBe(ids.length)
  }
  const problems: string[] = []
  for (const p of panels) {
    const where = `${p.uid} panel ${p.id} "${p.title}"`
    if (p.datasource?.uid !== '${datasource}') problems.push(`${where}: datasource is not \${datasource}`)
    if (!['x', 'y', 'w', 'h'].every(k => typeof p.gridPos?.[k] === 'number')) problems.push(`${where}: no gridPos`)
    if (p.type === 'row') continue
    if ((p.targets ?? []).length === 0) problems.push(`${where}: no targets`)
    for (const t of p.targets ?? []) {
      if (typeof t.expr !== 'string' || t.expr.trim() === '') problems.push(`${where} ${t.refId}: no expr`)
      else if (metricNames(substitute(t.expr)).length === 0) problems.push(`${where} ${t.refId}: selects no metric`)
      if (t.datasource != null && t.datasource.uid !== '${datasource}') problems.push(`${where} ${t.refId}: datasource is not \${datasource}`)
    }
  }
  expect(problems).toEqual([])
})

test('the dashboards match the JSON schema of @grafana/schema\'s Dashboard type', () => {
  // The classic dashboard model (the JSON Grafana exports); interfaces become closed objects, so a
  // misspelt key fails too.
  const types = join(dirname(createRequire(import.meta.url).resolve('@grafana/schema/package.json')), 'dist', 'types', 'raw', 'dashboard', 'x', 'types.gen.d.ts')
  const schema = createGenerator({ path: types, type: 'Dashboard', skipTypeCheck: true }).createSchema('Dashboard')
  const validate = new Ajv({ allErrors: true, strict: false }).compile(schema)
  for (const [file, d] of Object.entries(dashboards)) {
    validate(d)
    expect([file, validate.errors ?? []]).toEqual([file, []])
  }
})

describe('against a live Prometheus scraping a Codio cluster', () => {
  let dir: string
  let cluster: TestCluster | undefined
  let prometheus: ChildProcess | undefined
  let prom: string
  let nodes = 0
  let scraped: string[] = []
  const tokens: Record<string, string> = { wrong: randomBytes(24).toString('base64url') }
  const bearer = (kind: string): Record<string, string> => ({ authorization: `Bearer ${tokens[kind]}` })
  /** A ConnectRPC unary call in JSON over HTTP/1.1, with the token of `kind`. */
  async function rpc (base: string, method: string, body: object, kind: string): Promise<Response> {
    return await fetch(`${base}/${method}`, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer(kind) }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) })
  }
  const promLog = (): string => { try { return readFileSync(join(dir, 'prometheus.log'), 'utf8').slice(-3000) } catch { return '' } }

  async function api<T = any> (path: string): Promise<{ status: string, error?: string, data: T }> {
    const res = await fetch(`${prom}${path}`, { signal: AbortSignal.timeout(10_000) })
    return await res.json() as { status: string, error?: string, data: T }
  }
  async function query (expr: string): Promise<{ status: string, error?: string, data: { result: unknown[] } }> {
    return await api(`/api/v1/query?query=${encodeURIComponent(expr)}`)
  }
  /**
   * The value of each one-series expression in `expected` (undefined for none or several), polled
   * for up to 30 s until every one equals its expected value (scrapes and evaluations lag).
   */
  async function settle (what: string, expected: Record<string, number>): Promise<Record<string, number | undefined>> {
    let seen: Record<string, number | undefined> = {}
    await poll(what, 30_000, async () => {
      seen = {}
      for (const expr of Object.keys(expected)) {
        const r = (await query(expr)).data.result as Array<{ value: [number, string] }>
        seen[expr] = r.length === 1 ? Number(r[0].value[1]) : undefined
      }
      return Object.keys(expected).every(e => seen[e] === expected[e]) ? true : undefined
    }).catch(() => undefined)
    return seen
  }
  /** Names with samples (recorded series included), and names a target declares without samples yet. */
  async function knownNames (): Promise<{ sampled: Set<string>, declared: Set<string> }> {
    const sampled = new Set((await api<string[]>('/api/v1/label/__name__/values')).data)
    const declared = new Set(Object.keys((await api<Record<string, unknown>>('/api/v1/metadata')).data))
    return { sampled, declared }
  }

  beforeAll(async () => {
    requireBinary('prometheus')
    dir = await mkdtemp(join(tmpdir(), 'codio-monitoring-'))
    cluster = await startTestCluster(dir)
    Object.assign(tokens, cluster.tokens)
    const { info } = cluster
    const byRole = cluster.byRole
    const [origin, relay, edge] = [byRole('origin')[0], byRole('relay')[0], byRole('edge')[0]]
    nodes = info.processes.length

    const port = await freePort()
    prom = `http://127.0.0.1:${port}`
    const targets: Record<string, string[]> = {
      [JOBS.edge]: byRole('edge').map(p => p.http),
      [JOBS.relay]: byRole('relay').map(p => p.http),
      [JOBS.origin]: byRole('origin').map(p => p.http),
      [JOBS.tracker]: [info.tracker.http]
    }
    scraped = Object.values(targets).flat()
    await writeFile(join(dir, 'prometheus.yml'), stringifyYaml({
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      rule_files: [rulesPath],
      scrape_configs: Object.entries(targets).map(([job, urls]) => ({ job_name: job, static_configs: [{ targets: urls.map(u => new URL(u).host) }] }))
    }))
    const log = openSync(join(dir, 'prometheus.log'), 'a')
    prometheus = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`],
      { stdio: ['ignore', log, log] })
    await poll('Prometheus to be ready', 60_000, async () => {
      if (prometheus!.exitCode != null) throw new Error(`prometheus exited (${prometheus!.exitCode}):\n${promLog()}`)
      return (await fetch(`${prom}/-/ready`).catch(() => undefined))?.ok === true ? true : undefined
    })

    // Traffic that gives every panel's series a sample: an upload, a cold and a warm GET, a
    // client error, a refused upload, a relay prefetch (tracker lookup), a malformed gossip
    // message; for the control plane, an admin call with a wrong token, a gossip message with
    // no signature, a cluster configuration update and a preheat job through the tracker.
    const put = await fetch(`${origin.http}/content`, { method: 'PUT', body: randomBytes(3 << 20), headers: { 'content-type': 'application/octet-stream', ...bearer('publish') } })
    expect(put.status).toBe(201)
    const { cid } = await put.json() as { cid: string }
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${edge.http}/content/${cid}`)
      expect([res.status, (await res.arrayBuffer()).byteLength]).toEqual([200, 3 << 20])
    }
    expect((await fetch(`${edge.http}/content/not-a-cid`)).status).toBe(400)
    expect((await fetch(`${origin.http}/content?fec=bogus`, { method: 'PUT', body: 'x', headers: bearer('publish') })).status).toBe(400)
    expect((await rpc(relay.admin, 'codio.admin.v1.AdminService/Prefetch', { contentId: cid }, 'admin')).status).toBe(200)
    await natsPublish(info.tracker.nats, 'codio.gossip.availability.not-a-peer', 'garbage')

    const refused = await rpc(edge.admin, 'codio.admin.v1.AdminService/GetStatus', {}, 'wrong')
    expect([refused.status, (await refused.json() as { code: string }).code]).toEqual([401, 'unauthenticated'])
    const refusedAtTracker = await rpc(info.tracker.rpc, 'codio.tracker.v1.ControlService/GetJob', { id: 'none' }, 'wrong')
    expect(refusedAtTracker.status).toBe(401)
    // well formed, naming the edge, but not signed by the edge's key
    const forged = encodeAvailability({ peerId: edge.peerId, contents: [], sequence: Date.now(), timestampMs: Date.now() })
    await natsPublish(info.tracker.nats, availabilitySubject(edge.peerId), forged)
    const update = await rpc(info.tracker.rpc, 'codio.tracker.v1.ControlService/UpdateClusterConfig', { role: 'edge', config: { logLevel: 'warn' } }, 'admin')
    expect(update.status).toBe(200)
    const created = await rpc(info.tracker.rpc, 'codio.tracker.v1.ControlService/CreatePreheatJob', { contentIds: [cid], role: 'edge' }, 'admin')
    expect(created.status).toBe(200)
    const { job } = await created.json() as { job: { id: string } }
    await poll('the preheat job to succeed', 30_000, async () => {
      const r = await (await rpc(info.tracker.rpc, 'codio.tracker.v1.ControlService/GetJob', { id: job.id }, 'admin')).json() as { job: { state: string } }
      if (r.job.state === 'JOB_STATE_FAILED') throw new Error(`the preheat job failed: ${JSON.stringify(r.job)}`)
      return r.job.state === 'JOB_STATE_SUCCEEDED' ? true : undefined
    })
  }, 300_000)

  afterAll(async () => {
    await stop(prometheus, () => prometheus!.kill('SIGKILL'))
    await cluster?.stop()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  }, 60_000)

  test('every target is scraped', async () => {
    const up = await poll('every target to be up', 30_000, async () => {
      const r = (await query('up')).data.result as Array<{ metric: { job: string }, value: [number, string] }>
      return r.length === 4 && r.every(s => s.value[1] === '1') ? r : undefined
    }).catch(async err => { throw new Error(`${(err as Error).message}: ${JSON.stringify((await query('up')).data.result)}`) })
    expect(up.map(s => s.metric.job).sort()).toEqual(Object.values(JOBS).sort())
  })

  test('the rules are loaded and evaluate without errors', async () => {
    type Group = { name: string, rules: Array<{ name: string, health: string, lastError?: string }> }
    const loaded = await poll('every rule to be evaluated', 30_000, async () => {
      const groups = (await api<{ groups: Group[] }>('/api/v1/rules')).data.groups
      const all = groups.flatMap(g => g.rules)
      return all.length > 0 && all.every(r => r.health !== 'unknown') ? all : undefined
    })
    expect(loaded.map(r => r.name).sort()).toEqual(rules.map(r => r.record ?? r.alert).sort())
    expect(loaded.filter(r => r.health !== 'ok')).toEqual([])
  })

  test('every metric a rule reads is exported by some Codio process', async () => {
    const recorded = new Set(rules.flatMap(r => r.record ?? []))
    const { sampled, declared } = await knownNames()
    // Counters that never fired (apply failures) have metadata but no sample: the metadata counts.
    const known = (n: string): boolean => recorded.has(n) || sampled.has(n) || declared.has(n) || declared.has(n.replace(/_(bucket|sum|count)$/, ''))
    const missing = rules.flatMap(r => metricNames(r.expr).filter(n => !known(n)).map(n => `${r.record ?? r.alert}: ${n}`))
    expect(missing).toEqual([])
  })

  test('every dashboard query runs, names only metrics Prometheus has, and returns data', async () => {
    const queries = panels.flatMap(p => (p.targets ?? []).map(t => ({ where: `${p.uid} panel ${p.id} "${p.title}" ${t.refId}`, expr: substitute(t.expr) })))
    // Rates need two scrapes after the traffic and recorded series an evaluation: poll until
    // every query has data, then report what still has none.
    let problems: string[] = []
    await poll('every dashboard query to return data', 60_000, async () => {
      const { sampled } = await knownNames()
      problems = []
      for (const q of queries) {
        const missing = metricNames(q.expr).filter(n => !sampled.has(n))
        if (missing.length > 0) problems.push(`${q.where}: no series named ${missing.join(', ')}`)
        const r = await query(q.expr)
        if (r.status !== 'success') problems.push(`${q.where}: ${r.error ?? r.status} in ${q.expr}`)
        else if (r.data.result.length === 0) problems.push(`${q.where}: no data for ${q.expr}`)
      }
      return problems.length === 0 ? true : undefined
    }).catch(() => undefined)
    expect(problems).toEqual([])
  })

  test('the control-plane series count what the cluster did', async () => {
    const expected: Record<string, number> = {
      // every node (origin, relay, edge) holds its stream; none has had to reconnect
      'sum(codio_control_stream_connected)': nodes,
      'count(codio_control_stream_connected)': nodes,
      'sum(codio_control_stream_connects_total)': nodes,
      'codio_cluster_config_version{role="edge"}': 1,
      'max(codio_cluster_config_version{role!="edge"})': 0,
      'codio_control_commands_total{role="edge", kind="preheat", result="ok"}': 1,
      'sum(codio_control_commands_total{role!="edge"}) + sum(codio_control_commands_total{result="error"})': 0,
      'codio_auth_failures_total{role="edge", endpoint="codio.admin.v1.AdminService/GetStatus", reason="invalid"}': 1,
      'sum(codio_tracker_gossip_unauthenticated_total{kind="availability"})': 1
    }
    expect(await settle('the control-plane series', expected)).toEqual(expected)
  })

  test('the delivery series count what the cluster did: requests, bytes by source and by the sending peer\'s role', async () => {
    const MiB3 = 3 << 20
    // one cold and one warm GET of 3 MiB, one bad content ID; the relay prefetched the content
    // from the origin after the edge had it (identify told every peer's role: none unknown)
    const expected: Record<string, number> = {
      'sum(codio_http_requests_total{role="edge", route="/content/:cid", method="GET", status="200"})': 2,
      'sum(codio_http_requests_total{role="edge", route="/content/:cid", status="400"})': 1,
      'sum(codio_content_request_failures_total{reason="InvalidCidError"})': 1,
      'sum(codio_http_request_duration_seconds_count{role="edge", route="/content/:cid"})': 3,
      'sum(codio_http_response_size_bytes_sum{role="edge", route="/content/:cid", status!="400"}) >= bool 2 * 3145728': 1,
      'sum(codio_content_sent_bytes_total{source="swarm"})': MiB3,
      'sum(codio_content_sent_bytes_total{source="cache"})': MiB3,
      'sum(codio_cache_requests_total{result="miss"})': 1,
      'sum(codio_cache_requests_total{result="hit"})': 1,
      // every byte the edge fetched came from a known role; the relay's prefetch from the origin
      'sum(codio_swarm_received_bytes_total{role="edge", peer_role=~"origin|relay"}) >= bool 3145728': 1,
      'sum(codio_swarm_received_bytes_total{peer_role="unknown"})': 0,
      'sum(codio_swarm_received_bytes_total{role="relay", peer_role=~"origin|edge"}) >= bool 3145728': 1,
      'sum(codio_swarm_sent_bytes_total{role="origin"}) >= bool 3145728': 1,
      // the offload over the whole run, the recorded expression's counterpart: at most half the
      // bytes served came from the origin (the cold GET), the warm GET none
      '1 - sum(codio_swarm_received_bytes_total{role="edge", peer_role="origin"}) / sum(codio_content_sent_bytes_total{role="edge"}) >= bool 0.5': 1,
      'count(codio_tracker_backend_up == 1)': 2,
      'sum(codio_store_contents{role=~"origin|relay|edge"})': 3,
      'count(codio_store_used_bytes > 3145728)': 3,
      'count(codio_store_available_bytes < codio_store_capacity_bytes)': 3,
      'sum(codio_dht_query_duration_seconds_count{operation="provide"}) > bool 0': 1,
      'count(libp2p_connection_manager_connections) > bool 0': 1
    }
    expect(await settle('the delivery series', expected)).toEqual(expected)
  })

  test('promtool check metrics finds nothing wrong with the Codio metrics', async () => {
    // prom-client's own Node.js gauges (nodejs_active_handles_total, ...) are not ours to rename
    const problems: string[] = []
    for (const url of scraped) {
      const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text()
      const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })
      problems.push(...`${r.stdout}${r.stderr}`.split('\n').filter(l => l.startsWith('codio_')).map(l => `${url}: ${l}`))
    }
    expect(problems).toEqual([])
  })

  test('the job and instance variables list the cluster', async () => {
    const values = async (name: string): Promise<string[]> => {
      const v = dashboard.templating.list.find((v: { name: string }) => v.name === name)
      const [, selector, label] = /^label_values\((.+),\s*(\w+)\)$/.exec(substitute(v.query)) ?? []
      return (await api<string[]>(`/api/v1/label/${label}/values?match[]=${encodeURIComponent(selector)}`)).data
    }
    expect((await values('job')).sort()).toEqual(Object.values(JOBS).sort())
    expect(await values('instance')).toHaveLength(4)
  })
})

async function poll<T> (what: string, timeoutMs: number, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs
  while (true) {
    const value = await attempt()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 250))
  }
}

async function stop (child: ChildProcess | undefined, kill: () => void, timeoutMs = 10_000): Promise<void> {
  if (child == null || child.exitCode != null || child.signalCode != null) return
  await new Promise<void>(resolve => {
    const timer = setTimeout(() => { try { kill() } catch {} }, timeoutMs)
    child.once('exit', () => { clearTimeout(timer); resolve() })
    child.kill('SIGTERM')
  })
}

/** One message over the NATS text protocol; PING/PONG confirms the server took it. */
async function natsPublish (url: string, subject: string, payload: string | Uint8Array): Promise<void> {
  const { hostname, port } = new URL(url)
  await new Promise<void>((resolve, reject) => {
    const sock = connect(Number(port), hostname)
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`no PONG from NATS at ${url}`)) }, 5000)
    sock.on('error', reject)
    sock.on('data', (d: Buffer) => {
      if (d.toString().includes('PONG')) { clearTimeout(timer); sock.end(); resolve() }
    })
    const body = typeof payload === 'string' ? Buffer.from(payload) : payload
    sock.write(Buffer.concat([Buffer.from(`CONNECT {"verbose":false}\r\nPUB ${subject} ${body.byteLength}\r\n`), body, Buffer.from('\r\nPING\r\n')]))
  })
}
