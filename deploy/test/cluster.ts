/**
 * A local Codio cluster for the monitoring and tracing tests: `codio cluster` (origin, relays,
 * edges, tracker with nats-server and redis-server) with credentials as in production: every
 * process takes an admin, a publish and a node token (so every listener enforces them), and the
 * nodes carry the node token to the tracker.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { poll, root, stopChild } from './processes.js'

export interface ClusterProcessInfo { name: string, role: string, http: string, admin: string, peerId: string }
export interface ClusterInfo {
  processes: ClusterProcessInfo[]
  /** Always there: a cluster started without its tracker is an error. */
  tracker: { http: string, rpc: string, nats: string }
}

export interface TestCluster {
  info: ClusterInfo
  /** The bearer tokens, by kind: admin, publish, node. */
  tokens: Record<'admin' | 'publish' | 'node', string>
  /** The processes of `role`, in the order the cluster lists them. */
  byRole: (role: string) => ClusterProcessInfo[]
  /** What the cluster printed so far. */
  output: () => string
  /** SIGTERM (the CLI stops its services, NATS and Redis), SIGKILL to the group after 30 s. */
  stop: () => Promise<void>
}

/** The Node.js the services need (>= 22): this one, or the repository's pinned `node` package. */
export const nodeBinary = Number(process.versions.node.split('.')[0]) >= 22 ? process.execPath : join(root, 'node_modules', 'node', 'bin', 'node')

/**
 * Start `codio cluster --no-sample` in `dir/cluster` with `relays` relays and `edges` edges
 * (default 1 each), tokens in `dir/tokens`, and `env` on top of this process's environment;
 * resolves once `cluster.json` is written (2 minutes at most).
 * @throws when the cluster exits first, or starts without its tracker (NATS or Redis missing)
 */
export async function startTestCluster (dir: string, opts: { relays?: number, edges?: number, env?: NodeJS.ProcessEnv } = {}): Promise<TestCluster> {
  await mkdir(join(dir, 'tokens'), { recursive: true })
  const tokens = {} as TestCluster['tokens']
  const files = {} as Record<keyof TestCluster['tokens'], string>
  for (const kind of ['admin', 'publish', 'node'] as const) {
    tokens[kind] = randomBytes(24).toString('base64url')
    files[kind] = join(dir, 'tokens', kind)
    await writeFile(files[kind], `${tokens[kind]}\n`, { mode: 0o600 })
  }
  const clusterDir = join(dir, 'cluster')
  const args = [join(root, 'libs', 'cli', 'dist', 'bin.js'), 'cluster', '--dir', clusterDir, '--no-sample', '--edges', String(opts.edges ?? 1), '--relays', String(opts.relays ?? 1), '--log-level', 'warn']
  // detached: its own process group, so a cluster that ignores SIGTERM can still be killed whole
  const child: ChildProcess = spawn(nodeBinary, args, {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    env: {
      ...process.env,
      CODIO_AUTH__ADMIN_TOKEN_FILES: JSON.stringify([files.admin]),
      CODIO_AUTH__PUBLISH_TOKEN_FILES: JSON.stringify([files.publish]),
      CODIO_AUTH__NODE_TOKEN_FILES: JSON.stringify([files.node]),
      CODIO_TRACKER__TOKEN_FILE: files.node,
      ...opts.env
    }
  })
  let output = ''
  child.stdout!.on('data', (d: Buffer) => { output += d.toString() })
  child.stderr!.on('data', (d: Buffer) => { output += d.toString() })
  const stop = async (): Promise<void> => { await stopChild(child, () => process.kill(-child.pid!, 'SIGKILL'), 30_000) }
  try {
    let exited: Error | undefined
    const info = await poll('the cluster to be up', 120_000, async () => {
      // an exit ends the wait at once (poll retries what throws)
      if (child.exitCode != null) exited ??= new Error(`codio cluster exited (${child.exitCode}):\n${output}`)
      if (exited != null) return exited
      return existsSync(join(clusterDir, 'cluster.json')) ? JSON.parse(await readFile(join(clusterDir, 'cluster.json'), 'utf8')) as Partial<ClusterInfo> : undefined
    }, 250)
    if (info instanceof Error) throw info
    if (info.tracker == null) throw new Error(`the cluster started without its tracker (apt-get install -y nats-server redis-server):\n${output}`)
    const ready = info as ClusterInfo
    return { info: ready, tokens, byRole: role => ready.processes.filter(p => p.role === role), output: () => output, stop }
  } catch (err) {
    await stop()
    throw err
  }
}
