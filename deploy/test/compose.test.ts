/**
 * docker-compose.yml, run for real: the images built from this checkout, the cluster brought up
 * with `docker compose up --wait`, a 64 MiB file nobody here wrote (the first 64 MiB of the
 * Node.js binary) published at the origin with the publish token the `keys` service made (refused
 * without it, as admin calls are) and fetched byte-exact from both edges with curl,
 * Prometheus reporting every Codio target up, every process stopping cleanly on SIGTERM, and
 * `docker compose down -v` leaving no container, network or volume behind.
 *
 * Needs a Docker API (Docker, or Podman's: `../shared/tools/container-runtime.sh`, which .ci/run
 * runs) and Compose v2 (`deploy/scripts/compose-plugin.sh` builds it where it is missing).
 * Without a container runtime the test says so and skips; everything else missing fails it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import { createReadStream, mkdtempSync, openSync, readSync, closeSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '@codio/sidecars'
import { findDockerHost, must as mustRun, poll, root, run as runCmd } from './processes.js'

const project = `codio-test-${process.pid}`
const SIZE = 64 * 1024 * 1024
/** Every Codio process Prometheus must see up: job → targets. */
const TARGETS = { 'codio-edge': 2, 'codio-relay': 2, 'codio-origin': 1, 'codio-tracker': 1 }
/** Everything but Grafana, which has no image where Docker Hub cannot be reached. */
const SERVICES = ['nats', 'redis', 'keys', 'tracker', 'relay-1', 'relay-2', 'origin', 'edge', 'prometheus']

const docker = findDockerHost()
const haveRuntime = docker.host !== undefined
if (!haveRuntime) {
  console.warn(`compose test skipped: no container runtime answers (docker version: ${docker.error ?? ''}); ` +
    'set one up with ../shared/tools/container-runtime.sh')
}

async function sha256 (path: string): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer)
  return h.digest('hex')
}

const withDocker = (): NodeJS.ProcessEnv => docker.host ? { DOCKER_HOST: docker.host } : {}
const run = async (cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) => await runCmd(cmd, args, { ...withDocker(), ...env })
const must = async (cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) => await mustRun(cmd, args, { ...withDocker(), ...env })

const suite = haveRuntime ? describe : describe.skip
suite('docker compose local cluster', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'codio-compose-'))
  const env: NodeJS.ProcessEnv = { COMPOSE_PROJECT_NAME: project, DOCKER_BUILDKIT: '0', COMPOSE_BAKE: 'false' }
  const compose = async (...args: string[]): Promise<string> => await must('docker', ['compose', ...args], env)
  let upMs = 0
  const upAt = { start: 0 }

  beforeAll(async () => {
    const version = await run('docker', ['compose', 'version'])
    if (version.code !== 0) throw new Error('`docker compose` (v2) is missing: run deploy/scripts/compose-plugin.sh')
    // fixed host ports of the file moved to free ones, so a user's own cluster can keep running
    for (const v of ['CODIO_ORIGIN_PORT', 'CODIO_ORIGIN_ADMIN_PORT', 'CODIO_RELAY1_ADMIN_PORT', 'CODIO_RELAY2_ADMIN_PORT',
      'CODIO_TRACKER_RPC_PORT', 'CODIO_PROMETHEUS_PORT']) env[v] = String(await freePort())
    await must('sh', [join(root, 'deploy', 'scripts', 'standins.sh')])
    await compose('build', '-q')
    upAt.start = Date.now()
    await compose('up', '-d', '--wait', '--wait-timeout', '300', ...SERVICES)
    upMs = Date.now() - upAt.start
  }, 900_000)

  afterAll(async () => {
    if (process.env.CODIO_KEEP_COMPOSE == null) await run('docker', ['compose', 'down', '-v', '--remove-orphans', '-t', '20'], env)
    rmSync(tmp, { recursive: true, force: true })
  }, 120_000)

  it('serves a 64 MiB file published at the origin byte-exact from both edges, and Prometheus sees every Codio process up', async () => {
    // a file nobody here wrote: the first 64 MiB of the Node.js binary
    const file = join(tmp, 'node-64MiB.bin')
    const buf = Buffer.alloc(SIZE)
    const fd = openSync(process.execPath, 'r')
    const n = readSync(fd, buf, 0, SIZE, 0)
    closeSync(fd)
    writeFileSync(file, buf.subarray(0, n))
    const want = await sha256(file)

    const origin = `http://127.0.0.1:${env.CODIO_ORIGIN_PORT!}`
    // the tokens the `keys` service made; ingest is refused without the publish token
    const token = async (scope: string): Promise<string> => (await compose('exec', '-T', 'origin', 'cat', `/etc/codio/tokens/${scope}`)).trim()
    const [publishToken, adminToken] = [await token('publish'), await token('admin')]
    expect(publishToken).toMatch(/^[A-Za-z0-9_-]{43}$/)
    // (the origin answers before reading the body and closes, so curl may also report a failed send)
    expect((await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-T', file, `${origin}/content`])).stdout).toBe('401')
    const published = JSON.parse(await must('curl', ['-sS', '--fail-with-body', '-T', file, '-H', 'Content-Type: application/octet-stream',
      '-H', `Authorization: Bearer ${publishToken}`, `${origin}/content`]))
    expect(published).toMatchObject({ size: n, fec: expect.anything() })
    const cid = published.cid as string

    const edges = (await compose('ps', '-q', 'edge')).trim().split('\n').filter(Boolean)
    expect(edges).toHaveLength(2)
    for (let i = 1; i <= 2; i++) {
      const port = (await compose('port', '--index', String(i), 'edge', '8080')).trim().split(':').pop()
      const out = join(tmp, `edge-${i}.bin`)
      const status = await must('curl', ['-sS', '-o', out, '-w', '%{http_code}', `http://127.0.0.1:${port!}/content/${cid}`])
      expect(status).toBe('200')
      expect(await sha256(out)).toBe(want)
    }
    // the admin API: refused without a token, served with the admin token
    const status = `http://127.0.0.1:${env.CODIO_ORIGIN_ADMIN_PORT!}/codio.admin.v1.AdminService/GetStatus`
    const call = async (headers: Record<string, string>): Promise<Response> => await fetch(status, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{}' })
    expect((await call({})).status).toBe(401)
    const answer = await call({ authorization: `Bearer ${adminToken}` })
    expect(answer.status).toBe(200)
    expect(await answer.json()).toMatchObject({ role: 'origin' })
    console.log(`compose: up --wait ${(upMs / 1000).toFixed(1)} s; up to a 64 MiB content served by both edges ${((Date.now() - upAt.start) / 1000).toFixed(1)} s`)

    const prometheus = `http://127.0.0.1:${env.CODIO_PROMETHEUS_PORT!}`
    const up = await poll('every Codio target up in Prometheus', 120_000, async () => {
      const res = await fetch(`${prometheus}/api/v1/query?query=${encodeURIComponent('up{job=~"codio-.+"}')}`)
      const body = await res.json() as { data: { result: Array<{ metric: Record<string, string>, value: [number, string] }> } }
      const byJob: Record<string, number> = {}
      for (const r of body.data.result) if (r.value[1] === '1') byJob[r.metric.job] = (byJob[r.metric.job] ?? 0) + 1
      return Object.entries(TARGETS).every(([job, count]) => byJob[job] === count) && body.data.result.length === 6 ? byJob : undefined
    })
    expect(up).toEqual(TARGETS)
  }, 600_000)

  it('runs every Codio container as uid 10001 on a read-only root filesystem, with its healthcheck passing', async () => {
    for (const service of ['tracker', 'relay-1', 'relay-2', 'origin', 'edge']) {
      for (const id of (await compose('ps', '-q', service)).trim().split('\n').filter(Boolean)) {
        const [c] = JSON.parse(await must('docker', ['inspect', id])) as Array<{ Config: { User: string }, HostConfig: { ReadonlyRootfs: boolean }, State: { Health?: { Status: string } } }>
        expect({ service, user: c.Config.User, readOnly: c.HostConfig.ReadonlyRootfs, health: c.State.Health?.Status })
          .toEqual({ service, user: '10001:10001', readOnly: true, health: 'healthy' })
      }
    }
  }, 120_000)

  it('stops every Codio process on SIGTERM within the grace period (exit 0, not killed)', async () => {
    const codio = ['tracker', 'relay-1', 'relay-2', 'origin', 'edge']
    await compose('stop', '-t', '15', ...codio)
    for (const service of codio) {
      for (const id of (await compose('ps', '-aq', service)).trim().split('\n').filter(Boolean)) {
        const [c] = JSON.parse(await must('docker', ['inspect', id])) as Array<{ State: { ExitCode: number, OOMKilled: boolean } }>
        expect({ service, exit: c.State.ExitCode }).toEqual({ service, exit: 0 })
      }
    }
  }, 120_000)

  it('down -v leaves no container, network or volume of the project behind', async () => {
    const ids = (await compose('ps', '-aq')).trim().split('\n').filter(Boolean)
    const volumes = new Set<string>()
    for (const id of ids) {
      const [c] = JSON.parse(await must('docker', ['inspect', id])) as Array<{ Mounts: Array<{ Type: string, Name?: string }> }>
      for (const m of c.Mounts) if (m.Type === 'volume' && m.Name != null) volumes.add(m.Name)
    }
    expect(volumes.size).toBeGreaterThanOrEqual(8) // the named ones and each edge's anonymous cache
    await compose('down', '-v', '--remove-orphans', '-t', '20')
    const label = `label=com.docker.compose.project=${project}`
    expect((await must('docker', ['ps', '-aq', '--filter', label])).trim()).toBe('')
    expect((await must('docker', ['network', 'ls', '-q', '--filter', label])).trim()).toBe('')
    expect((await must('docker', ['volume', 'ls', '-q', '--filter', label])).trim()).toBe('')
    const left = (await must('docker', ['volume', 'ls', '-q'])).trim().split('\n')
    expect(left.filter(v => volumes.has(v))).toEqual([])
  }, 180_000)
})
