/**
 * The Helm chart's edge and tracker pods, run for real with `podman kube play`: the Deployments
 * and ConfigMaps `helm template` renders, on the images built from this checkout, with the
 * chart's securityContext. The tracker reaches a real NATS and Redis (local servers the pods
 * reach as host.containers.internal) and turns ready; the edge runs, is healthy, says it is
 * still starting (no relay is there to join) and answers an unknown content with 404.
 *
 * What is left out, and why: Podman 4.3 cannot play StatefulSets (relays, origin, NATS, Redis),
 * panics on secret volumes, and turns httpGet probes into `curl` healthchecks the images have no
 * curl for, so the probes are removed, the publisher key is given as a public key
 * (`publisher.existingSecret` + `publisher.publicKey`, the production set-up) and the bearer
 * tokens' Secret volume becomes a host directory of token files (the same file names) — the
 * kinds kube play supports are run as rendered otherwise. Skipped, saying so, without podman.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '@codio/sidecars'
import { parseAllDocuments, stringify } from 'yaml'
import { findDockerHost, must, poll, root } from './processes.js'

const RELEASE = `codio-kp${process.pid}`
const docker = findDockerHost()
const podman = spawnSync('podman', ['info', '--format', '{{.Host.OCIRuntime.Name}}'], { encoding: 'utf8' })
const available = podman.status === 0 && docker.host !== undefined
if (!available) console.warn('kube play test skipped: podman with its Docker API is not set up (../shared/tools/container-runtime.sh)')

type Obj = Record<string, any>

/** Check the container runs as the chart says (uid 10001, read-only root) and return its pod's IP. */
async function hardenedIp (container: string): Promise<string> {
  const c = JSON.parse(await must('podman', ['inspect', container]))[0] as Obj
  expect({ user: c.Config.User, readOnly: c.HostConfig.ReadonlyRootfs }).toEqual({ user: '10001:10001', readOnly: true })
  return (await must('podman', ['inspect', container, '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}'])).trim()
}

const suite = available ? describe : describe.skip
suite('the chart\'s edge and tracker pods under podman kube play', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'codio-kube-play-'))
  const file = join(tmp, 'pods.yaml')
  const servers: ChildProcess[] = []
  let played = false
  const tokens: Record<string, string> = {}

  beforeAll(async () => {
    const [natsPort, redisPort] = [await freePort(), await freePort()]
    // on every address: the pods reach the host through the bridge, not its loopback
    servers.push(spawn('nats-server', ['-a', '0.0.0.0', '-p', String(natsPort)], { stdio: 'ignore' }))
    servers.push(spawn('redis-server', ['--bind', '0.0.0.0', '--port', String(redisPort), '--save', '', '--appendonly', 'no',
      '--protected-mode', 'no', '--dir', tmp], { stdio: 'ignore' }))
    const env = { DOCKER_HOST: docker.host, DOCKER_BUILDKIT: '0' }
    for (const role of ['edge', 'tracker']) await must('docker', ['build', '-q', '--target', role, '-t', `codio/${role}:0.1.0`, '.'], env)

    const helm = (await must(process.execPath, [join(root, 'deploy', 'scripts', 'helm.mjs')])).trim()
    const publicKey = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!
    const rendered = await must(helm, ['template', RELEASE, join(root, 'deploy', 'helm', 'codio'),
      '--set', 'nats.enabled=false', '--set', `externalNats.url=nats://host.containers.internal:${natsPort}`,
      '--set', 'redis.enabled=false', '--set', `externalRedis.url=redis://host.containers.internal:${redisPort}`,
      '--set', 'publisher.existingSecret=publisher', '--set', `publisher.publicKey=${publicKey}`])
    const docs = parseAllDocuments(rendered).map(d => d.toJS() as Obj).filter(Boolean)
    const pods = docs.filter(d => ['Deployment', 'ConfigMap'].includes(d.kind) && [`${RELEASE}-edge`, `${RELEASE}-tracker`].includes(d.metadata.name))
    expect(pods.map(d => `${d.kind}/${d.metadata.name}`).sort()).toEqual([
      `ConfigMap/${RELEASE}-edge`, `ConfigMap/${RELEASE}-tracker`, `Deployment/${RELEASE}-edge`, `Deployment/${RELEASE}-tracker`])
    // the tokens' Secret as a directory of the same files, readable by uid 10001
    const dir = join(tmp, 'tokens')
    mkdirSync(dir)
    chmodSync(tmp, 0o755)
    for (const scope of ['read', 'admin', 'publish', 'node']) {
      tokens[scope] = randomBytes(32).toString('base64url')
      writeFileSync(join(dir, scope), `${tokens[scope]}\n`, { mode: 0o644 })
    }
    for (const d of pods.filter(d => d.kind === 'Deployment')) {
      for (const c of d.spec.template.spec.containers) { delete c.livenessProbe; delete c.readinessProbe }
      const volumes = d.spec.template.spec.volumes as Obj[]
      const v = volumes.findIndex(v => v.name === 'tokens')
      expect(volumes[v].secret.secretName).toBe(`${RELEASE}-auth`)
      volumes[v] = { name: 'tokens', hostPath: { path: dir, type: 'Directory' } }
    }
    writeFileSync(file, pods.map(d => stringify(d)).join('---\n'))
    await must('podman', ['kube', 'play', file])
    played = true
  }, 600_000)

  afterAll(async () => {
    if (played) {
      await must('podman', ['kube', 'down', file]).catch(() => {})
      for (const role of ['edge', 'tracker']) spawnSync('podman', ['volume', 'rm', '-f', `${RELEASE}-${role}`])
      // the network kube play made for its pods; left alone while anything else uses it
      spawnSync('podman', ['network', 'rm', 'podman-default-kube-network'])
    }
    for (const s of servers) s.kill()
    rmSync(tmp, { recursive: true, force: true })
  }, 120_000)

  it('runs the tracker as rendered: uid 10001, read-only root, ready once it reaches NATS and Redis', async () => {
    const ip = await hardenedIp(`${RELEASE}-tracker-pod-0-tracker`)
    const body = await poll('the tracker pod ready', 60_000, async () => {
      const res = await fetch(`http://${ip}:7090/readyz`)
      return res.status === 200 ? await res.json() : undefined
    })
    expect(body).toEqual({ status: 'ready' })
    // its RPC port takes the node token, not none
    const select = async (token?: string): Promise<number> => (await fetch(`http://${ip}:7091/codio.tracker.v1.TrackerService/SelectPeers`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...(token == null ? {} : { authorization: `Bearer ${token}` }) }, body: '{"contentId":"bafyreicuiffgoed4he5rib7vuut53xosfqgzqw5jxjl2a7lvh6g5li75di","count":1}'
    })).status
    expect(await select()).toBe(401)
    expect(await select(tokens.node)).toBe(200)
  }, 120_000)

  it('runs the edge as rendered: healthy, starting until a relay answers, 404 for unknown content', async () => {
    const name = `${RELEASE}-edge-pod-0-edge`
    const ip = await hardenedIp(name)
    await poll('the edge pod healthy', 60_000, async () => (await fetch(`http://${ip}:8080/healthz`)).ok ? true : undefined)
    const ready = await fetch(`http://${ip}:8080/readyz`)
    expect({ status: ready.status, body: await ready.json() }).toEqual({ status: 503, body: { status: 'starting' } })
    const unknown = await fetch(`http://${ip}:8080/content/bafyreicuiffgoed4he5rib7vuut53xosfqgzqw5jxjl2a7lvh6g5li75di`)
    expect(unknown.status).toBe(404)
    expect((await must('podman', ['inspect', name, '--format', '{{.State.Status}}'])).trim()).toBe('running')
    // its admin API (on 0.0.0.0) takes the chart's tokens: none → 401, read → status, read on a write → 403
    const admin = async (method: string, token?: string): Promise<number> => (await fetch(`http://${ip}:8081/codio.admin.v1.AdminService/${method}`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...(token == null ? {} : { authorization: `Bearer ${token}` }) }, body: '{}'
    })).status
    expect(await admin('GetStatus')).toBe(401)
    expect(await admin('GetStatus', tokens.read)).toBe(200)
    expect(await admin('Purge', tokens.read)).toBe(403)
  }, 120_000)
})
