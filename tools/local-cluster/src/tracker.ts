import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { freePort, startNats, startRedis, type Sidecar } from '@codio/sidecars'
import type { ClusterTracker } from './cluster-file.js'
import type { ServiceProcess } from './process/spawn-service.js'
import { isBuilt, launchService } from './services.js'

export interface TrackerInit {
  dir: string
  servicesDir: string
  logLevel: string
  say: (line: string) => void
  /** The cluster's sidecars and processes: what this starts joins them at once, so the cluster's stop stops it. */
  sidecars: Sidecar[]
  processes: ServiceProcess[]
  /** Waits until a started process answers `<http>/readyz`. */
  ready: (process: ServiceProcess, http: string) => Promise<void>
}

/**
 * NATS and Redis (local binaries or `NATS_URL` / `REDIS_URL`, never containers) and the tracker
 * on them, ready; or `undefined`, with the reason said, when the tracker is not built or NATS
 * or Redis cannot be had: the nodes then find providers through the DHT alone.
 *
 * @throws ServiceStartError when the tracker process exits or is not ready in time
 */
export async function startTracker (init: TrackerInit): Promise<ClusterTracker | undefined> {
  const { dir, say } = init
  if (!isBuilt(init.servicesDir, 'tracker')) {
    say('tracker not built (services/tracker/dist/main.js): running without it, edges use the DHT alone')
    return undefined
  }
  let nats: Sidecar
  let redis: Sidecar
  const ours: Sidecar[] = []
  try {
    nats = await startNats({ dir: join(dir, 'nats'), containers: false })
    ours.push(nats)
    redis = await startRedis({ dir: join(dir, 'redis'), containers: false })
    ours.push(redis)
  } catch (err: any) {
    say(`no tracker: ${String(err?.message ?? err)}`)
    say('  install NATS and Redis with `apt-get install -y nats-server redis-server` (or set NATS_URL and REDIS_URL); edges use the DHT alone')
    await Promise.allSettled(ours.map(async s => await s.stop()))
    return undefined
  }
  init.sidecars.push(...ours)
  const [http, rpc] = [await freePort(), await freePort()]
  const dataDir = join(dir, 'tracker')
  await mkdir(dataDir, { recursive: true })
  const logPath = join(dir, 'logs', 'tracker.log')
  const tracker = await launchService(init.servicesDir, {
    role: 'tracker',
    name: 'tracker',
    configPath: join(dataDir, 'config.toml'),
    logPath,
    config: {
      name: 'tracker',
      logLevel: init.logLevel,
      http: { host: '127.0.0.1', port: http },
      rpc: { host: '127.0.0.1', port: rpc },
      nats: { servers: nats.url },
      redis: { url: redis.url }
    }
  })
  init.processes.push(tracker)
  await init.ready(tracker, `http://127.0.0.1:${http}`)
  return {
    pid: tracker.pid,
    http: `http://127.0.0.1:${http}`,
    rpc: `http://127.0.0.1:${rpc}`,
    nats: nats.url,
    redis: redis.url,
    natsPid: nats.pid ?? undefined,
    redisPid: redis.pid ?? undefined,
    log: logPath
  }
}
