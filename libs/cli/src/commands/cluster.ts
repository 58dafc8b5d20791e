import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { mkdir, rename, stat, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadOrCreatePeerKey } from '@codio/p2p'
import { encodePublicKey, loadOrCreateKeyPair } from '@codio/signing'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { stringify } from 'smol-toml'
import type { ClusterFile, ClusterProcess } from '../endpoints.js'
import { ClusterStartError } from '../errors.js'
import { publish } from './publish.js'
import { freePort, freeUdpPort, SERVICE_NODE_FLAGS, startNats, startRedis, type Sidecar } from '@codio/sidecars'

export interface ClusterOptions {
  /** Number of edges. Default 2. */
  edges?: number
  /** Number of relays. Default 2. */
  relays?: number
  /** State directory (keys, stores, configs, logs, cluster.json). Default `.codio`. */
  dir?: string
  /** File published at start; `false` publishes nothing. Default: the Node.js binary running this. */
  sample?: string | false
  /** Longest wait for every process to be ready (ms). Default 60 000. */
  readyTimeoutMs?: number
  /** Log level of the services. Default `info`. */
  logLevel?: string
  /** Where messages go. Default stdout. */
  out?: NodeJS.WritableStream
  /** Resolves when the cluster should stop (default: SIGINT or SIGTERM). */
  until?: Promise<void>
  /**
   * Run the tracker, with NATS and Redis (the `nats-server` / `redis-server` binaries on PATH,
   * or `NATS_URL` / `REDIS_URL`). Without them the cluster says how to install them and runs
   * with the DHT alone. Default true.
   */
  tracker?: boolean
}

type Role = 'origin' | 'relay' | 'edge'

interface Planned {
  role: Role
  name: string
  dataDir: string
  configPath: string
  logPath: string
  peerId: string
  multiaddrs: string[]
  http: string
  admin: string
  config: Record<string, unknown>
}

/** The repository's `services/` folder: the services are started from their built `dist/`. */
function servicesDir (): string {
  return process.env.CODIO_SERVICES_DIR ?? fileURLToPath(new URL('../../../../services/', import.meta.url))
}

async function publisherKey (dir: string): Promise<string> {
  return encodePublicKey((await loadOrCreateKeyPair(join(dir, 'publisher.jwk'))).keyPair.publicKey)
}

async function plan (dir: string, role: Role, index: number, logLevel: string): Promise<Planned> {
  const name = `${role}-${index}`
  const dataDir = join(dir, name)
  await mkdir(dataDir, { recursive: true })
  const peerId = peerIdFromPrivateKey(await loadOrCreatePeerKey(join(dataDir, 'peer.key'))).toString()
  const [tcp, udp, http, admin] = [await freePort(), await freeUdpPort(), await freePort(), await freePort()]
  const listen = [`/ip4/127.0.0.1/tcp/${tcp}`, `/ip4/127.0.0.1/udp/${udp}/quic-v1`]
  return {
    role,
    name,
    dataDir,
    configPath: join(dataDir, 'config.toml'),
    logPath: join(dir, 'logs', `${name}.log`),
    peerId,
    multiaddrs: listen.map(a => `${a}/p2p/${peerId}`),
    http: `http://127.0.0.1:${http}`,
    admin: `http://127.0.0.1:${admin}`,
    config: {
      name,
      dataDir,
      logLevel,
      http: { host: '127.0.0.1', port: http },
      admin: { host: '127.0.0.1', port: admin },
      p2p: { listen }
    }
  }
}

async function waitReady (p: Pick<Planned, 'name' | 'http' | 'logPath'>, child: ChildProcess, deadline: number): Promise<void> {
  while (true) {
    if (child.exitCode != null || child.signalCode != null) {
      throw new ClusterStartError(`${p.name} exited (${child.exitCode ?? child.signalCode}) before it was ready; its log: ${p.logPath}\n${tail(p.logPath)}`)
    }
    try {
      const res = await fetch(`${p.http}/readyz`, { signal: AbortSignal.timeout(1000) })
      if (res.ok) return
    } catch {}
    if (Date.now() > deadline) throw new ClusterStartError(`${p.name} was not ready in time; its log: ${p.logPath}\n${tail(p.logPath)}`)
    await new Promise(resolve => setTimeout(resolve, 150))
  }
}

function tail (path: string): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-15).join('\n')
  } catch {
    return '(no log)'
  }
}

async function stopAll (children: ChildProcess[], timeoutMs = 10_000): Promise<void> {
  const running = children.filter(c => c.exitCode == null && c.signalCode == null)
  await Promise.all(running.map(async c => await new Promise<void>(resolve => {
    const timer = setTimeout(() => { c.kill('SIGKILL') }, timeoutMs)
    c.once('exit', () => { clearTimeout(timer); resolve() })
    c.kill('SIGTERM')
  })))
}

/**
 * Run a local Codio cluster of plain processes on loopback: relays first (DHT bootstrap
 * peers for the rest), then one origin and the edges, each an OS process started from its
 * service's built `dist/main.js` with a generated TOML config. Waits until every process
 * answers `/readyz`, publishes a sample file at the origin, writes `<dir>/cluster.json`, and
 * stops every process on SIGINT or SIGTERM.
 *
 * @throws ClusterStartError when a service is not built, exits early or is not ready in time
 */
export async function runCluster (options: ClusterOptions = {}): Promise<void> {
  const out = options.out ?? process.stdout
  const say = (line: string): void => { out.write(`${line}\n`) }
  const dir = resolve(options.dir ?? '.codio')
  const edges = options.edges ?? 2
  const relays = options.relays ?? 2
  if (!Number.isInteger(edges) || edges < 1 || !Number.isInteger(relays) || relays < 1) {
    throw new ClusterStartError('--edges and --relays must be whole numbers of at least 1')
  }
  const services = servicesDir()
  for (const role of ['origin', 'relay', 'edge']) {
    if (!existsSync(join(services, role, 'dist', 'main.js'))) {
      throw new ClusterStartError(`services/${role} is not built (no ${join(services, role, 'dist', 'main.js')}): run \`npm run build\` first, or start with \`npm start\``)
    }
  }
  await mkdir(join(dir, 'logs'), { recursive: true })
  const publisher = await publisherKey(dir)
  const logLevel = options.logLevel ?? 'info'

  const relayPlans: Planned[] = []
  for (let i = 1; i <= relays; i++) relayPlans.push(await plan(dir, 'relay', i, logLevel))
  const relayAddrs = relayPlans.map(r => r.multiaddrs[0])
  const origin = await plan(dir, 'origin', 1, logLevel)
  const edgePlans: Planned[] = []
  for (let i = 1; i <= edges; i++) edgePlans.push(await plan(dir, 'edge', i, logLevel))
  for (const r of relayPlans) r.config.p2p = { ...(r.config.p2p as object), bootstrap: relayAddrs.filter(a => !r.multiaddrs.includes(a)) }
  for (const p of [origin, ...edgePlans]) p.config.p2p = { ...(p.config.p2p as object), bootstrap: relayAddrs }
  origin.config.publisher = { keyFile: join(dir, 'publisher.jwk') }
  for (const p of [...relayPlans, origin, ...edgePlans]) p.config.trust = { publisherKeys: [publisher] }

  const children: ChildProcess[] = []
  const all = [...relayPlans, origin, ...edgePlans]
  const sidecars: Sidecar[] = []
  const pids = new Map<string, number>()
  let tracker: ClusterFile['tracker']
  let stopping = false
  const stop = async (): Promise<void> => {
    stopping = true
    await stopAll(children)
    await Promise.allSettled(sidecars.map(async s => await s.stop()))
  }
  try {
    const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000)
    if (options.tracker !== false) {
      tracker = await startTracker(dir, services, logLevel, children, sidecars, say, deadline)
      if (tracker != null) {
        for (const p of all) p.config.tracker = { url: tracker.rpc, nats: [tracker.nats] }
      }
    }
    for (const group of [relayPlans, [origin, ...edgePlans]]) {
      const started = group.map(p => ({ p, child: startProcess(p, services, children) }))
      for (const { p, child } of started) pids.set(p.name, child.pid!)
      for (const { p, child } of started) {
        child.once('exit', (code, signal) => {
          // exit 0 is a drain (the admin Drain call) or a clean stop; anything else is a failure
          if (!stopping) say(code === 0 ? `${p.name} exited (0): drained; log: ${p.logPath}` : `${p.name} exited unexpectedly (${code ?? signal}); log: ${p.logPath}`)
        })
      }
      await Promise.all(started.map(async ({ p, child }) => waitReady(p, child, deadline)))
    }
    const file: ClusterFile = {
      processes: all.map(p => ({
        role: p.role,
        name: p.name,
        pid: pids.get(p.name)!,
        http: p.http,
        admin: p.admin,
        peerId: p.peerId,
        multiaddrs: p.multiaddrs,
        log: p.logPath,
        dataDir: p.dataDir
      } satisfies ClusterProcess)),
      publisherKey: publisher,
      ...(tracker == null ? {} : { tracker })
    }
    await writeCluster(dir, file)
    say(`Codio local cluster is up: 1 origin, ${relays} relay${relays > 1 ? 's' : ''}, ${edges} edge${edges > 1 ? 's' : ''} (state in ${dir})`)
    for (const p of all) say(`  ${p.name.padEnd(9)} http ${p.http}  admin ${p.admin}  peer ${p.peerId}`)
    if (tracker != null) say(`  tracker   http ${tracker.http}  rpc ${tracker.rpc}  (NATS ${tracker.nats}, Redis ${tracker.redis})`)

    if (options.sample !== false) {
      const sample = options.sample ?? process.execPath
      const size = (await stat(sample)).size
      say(`publishing sample ${sample} (${size} bytes) at ${origin.http} ...`)
      const result = await publish(sample, { origin: origin.http, quiet: true })
      file.sample = { cid: result.cid, path: sample }
      await writeCluster(dir, file)
      say(`sample content ID: ${result.cid}`)
      for (const e of edgePlans) say(`  curl -o sample.bin ${e.http}/content/${result.cid}`)
    }
    say(`cluster.json: ${join(dir, 'cluster.json')}`)
    say('Ctrl-C (or SIGTERM) stops every process.')
    await (options.until ?? new Promise<void>(resolve => {
      process.once('SIGINT', () => resolve())
      process.once('SIGTERM', () => resolve())
    }))
    say('stopping the cluster ...')
  } finally {
    await stop()
  }
  say('stopped.')
}

/**
 * NATS, Redis and the tracker for the cluster, or `undefined` (with the reason said) when
 * NATS or Redis cannot be had: the nodes then find providers through the DHT alone.
 */
async function startTracker (dir: string, services: string, logLevel: string, children: ChildProcess[], sidecars: Sidecar[],
  say: (line: string) => void, deadline: number): Promise<ClusterFile['tracker']> {
  if (!existsSync(join(services, 'tracker', 'dist', 'main.js'))) {
    say('tracker not built (services/tracker/dist/main.js): running without it, edges use the DHT alone')
    return undefined
  }
  let nats: Sidecar
  let redis: Sidecar
  try {
    nats = await startNats({ dir: join(dir, 'nats'), containers: false })
    sidecars.push(nats)
    redis = await startRedis({ dir: join(dir, 'redis'), containers: false })
    sidecars.push(redis)
  } catch (err: any) {
    say(`no tracker: ${err.message}`)
    say('  install NATS and Redis with `apt-get install -y nats-server redis-server` (or set NATS_URL and REDIS_URL); edges use the DHT alone')
    await Promise.allSettled(sidecars.map(async s => await s.stop()))
    sidecars.length = 0
    return undefined
  }
  const [http, rpc] = [await freePort(), await freePort()]
  const dataDir = join(dir, 'tracker')
  await mkdir(dataDir, { recursive: true })
  const p = {
    name: 'tracker',
    configPath: join(dataDir, 'config.toml'),
    logPath: join(dir, 'logs', 'tracker.log'),
    http: `http://127.0.0.1:${http}`,
    config: {
      name: 'tracker',
      logLevel,
      http: { host: '127.0.0.1', port: http },
      rpc: { host: '127.0.0.1', port: rpc },
      nats: { servers: nats.url },
      redis: { url: redis.url }
    }
  }
  const child = startProcess({ ...p, role: 'tracker' }, services, children)
  await waitReady(p, child, deadline)
  return { pid: child.pid!, http: p.http, rpc: `http://127.0.0.1:${rpc}`, nats: nats.url, redis: redis.url, natsPid: nats.pid ?? undefined, redisPid: redis.pid ?? undefined, log: p.logPath }
}

function startProcess (p: Pick<Planned, 'configPath' | 'logPath' | 'config'> & { role: string }, services: string, children: ChildProcess[]): ChildProcess {
  // tmp + rename: the child never reads a half-written config
  writeFileSync(`${p.configPath}.tmp`, stringify(p.config))
  renameSync(`${p.configPath}.tmp`, p.configPath)
  const log = openSync(p.logPath, 'a')
  const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, join(services, p.role, 'dist', 'main.js'), '--config', p.configPath], {
    stdio: ['ignore', log, log],
    env: { ...process.env }
  })
  children.push(child)
  return child
}

async function writeCluster (dir: string, file: ClusterFile): Promise<void> {
  const path = join(dir, 'cluster.json')
  await writeFile(`${path}.tmp`, JSON.stringify(file, null, 2) + '\n')
  await rename(`${path}.tmp`, path)
}
