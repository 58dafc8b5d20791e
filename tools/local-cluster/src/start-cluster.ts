import { mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { Sidecar } from '@codio/sidecars'
import { writeClusterFile, type ClusterFile, type ClusterProcess } from './cluster-file.js'
import { ClusterStartError } from './errors.js'
import { planCluster, type PlannedNode } from './plan.js'
import { httpReady } from './process/readiness.js'
import type { ServiceProcess } from './process/spawn-service.js'
import { defaultServicesDir, isBuilt, launchService, serviceMain } from './services.js'
import { startTracker } from './tracker.js'

export interface ClusterInit {
  /** Number of edges. Default 2. */
  edges?: number
  /** Number of relays. Default 2. */
  relays?: number
  /** State directory (keys, stores, configs, logs, cluster.json). Default `.codio`. */
  dir?: string
  /** Longest wait for every process to be ready (ms). Default 60 000. */
  readyTimeoutMs?: number
  /** Log level of the services. Default `info`. */
  logLevel?: string
  /**
   * Run the tracker, with NATS and Redis (the `nats-server` / `redis-server` binaries on PATH,
   * or `NATS_URL` / `REDIS_URL`). Without them the cluster says how to install them and runs
   * with the DHT alone. Default true.
   */
  tracker?: boolean
  /** Where the services' built `<role>/dist/main.js` are. Default: the repository's `services/` (or `CODIO_SERVICES_DIR`). */
  servicesDir?: string
  /** Lines for the user: the tracker left out and why, a process that exits on its own. Default: dropped. */
  say?: (line: string) => void
  /** Aborts the start: what was started is stopped and the call rejects with the signal's reason. */
  signal?: AbortSignal
}

/** A running local cluster. */
export interface LocalCluster {
  /** The state directory, absolute. */
  readonly dir: string
  /** What `<dir>/cluster.json` holds. */
  readonly file: ClusterFile
  /** Write `file` to `<dir>/cluster.json` again (after recording the sample in it). */
  save: () => Promise<void>
  /** Stop every process (SIGTERM, SIGKILL after 10 s), then NATS and Redis. Idempotent. */
  stop: () => Promise<void>
}

function entry (p: PlannedNode, pid: number): ClusterProcess {
  return { role: p.role, name: p.name, pid, http: p.http, admin: p.admin, peerId: p.peerId, multiaddrs: p.multiaddrs, log: p.logPath, dataDir: p.dataDir }
}

/**
 * Start a local Codio cluster of plain processes on loopback: NATS, Redis and the tracker
 * (unless `tracker: false`), the relays (DHT bootstrap peers for the rest), then one origin and
 * the edges together, each an OS process started from its service's built `dist/main.js` with
 * a generated TOML config and its log in `<dir>/logs/`. Resolves once every process answers
 * `/readyz` and `<dir>/cluster.json` is written.
 *
 * @throws ClusterStartError when a service is not built or a count is not a whole number ≥ 1
 * @throws ServiceStartError when a process exits early or is not ready in time (everything is
 *   stopped first)
 */
export async function startCluster (init: ClusterInit = {}): Promise<LocalCluster> {
  const say = init.say ?? (() => {})
  const dir = resolve(init.dir ?? '.codio')
  const edges = init.edges ?? 2
  const relays = init.relays ?? 2
  if (!Number.isInteger(edges) || edges < 1 || !Number.isInteger(relays) || relays < 1) {
    throw new ClusterStartError('--edges and --relays must be whole numbers of at least 1')
  }
  const servicesDir = init.servicesDir ?? defaultServicesDir()
  for (const role of ['origin', 'relay', 'edge'] as const) {
    if (!isBuilt(servicesDir, role)) {
      throw new ClusterStartError(`services/${role} is not built (no ${serviceMain(servicesDir, role)}): run \`npm run build\` first, or start with \`npm start\``)
    }
  }
  await mkdir(join(dir, 'logs'), { recursive: true })
  const logLevel = init.logLevel ?? 'info'
  const plan = await planCluster(dir, { edges, relays }, logLevel)

  const processes: ServiceProcess[] = []
  const sidecars: Sidecar[] = []
  let stopping = false
  const stop = async (): Promise<void> => {
    stopping = true
    await Promise.all(processes.map(async p => await p.stop()))
    await Promise.allSettled(sidecars.map(async s => await s.stop()))
  }
  try {
    const deadline = Date.now() + (init.readyTimeoutMs ?? 60_000)
    const ready = async (p: ServiceProcess, http: string): Promise<void> => {
      await p.ready(httpReady(`${http}/readyz`), { timeoutMs: deadline - Date.now(), signal: init.signal })
    }
    const tracker = init.tracker === false ? undefined : await startTracker({ dir, servicesDir, logLevel, say, sidecars, processes, ready })
    if (tracker != null) for (const p of plan.all) p.config.tracker = { url: tracker.rpc, nats: [tracker.nats] }

    const pids = new Map<string, number>()
    for (const group of [plan.relays, [plan.origin, ...plan.edges]]) {
      const started: Array<{ p: PlannedNode, service: ServiceProcess }> = []
      for (const p of group) {
        const service = await launchService(servicesDir, p)
        processes.push(service)
        started.push({ p, service })
        pids.set(p.name, service.pid)
        void service.exited.then(({ code, signal }) => {
          // exit 0 is a drain (the admin Drain call) or a clean stop; anything else is a failure
          if (!stopping) say(code === 0 ? `${p.name} exited (0): drained; log: ${p.logPath}` : `${p.name} exited unexpectedly (${code ?? signal}); log: ${p.logPath}`)
        })
      }
      await Promise.all(started.map(async ({ p, service }) => { await ready(service, p.http) }))
    }
    const file: ClusterFile = {
      processes: plan.all.map(p => entry(p, pids.get(p.name)!)),
      publisherKey: plan.publisherKey,
      ...(tracker == null ? {} : { tracker })
    }
    await writeClusterFile(dir, file)
    return { dir, file, save: async () => { await writeClusterFile(dir, file) }, stop }
  } catch (err) {
    await stop()
    throw err
  }
}
