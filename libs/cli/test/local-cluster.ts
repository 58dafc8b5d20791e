/**
 * A real local cluster for the e2e tests: the built CLI's `codio cluster` as a child process in
 * a fresh temporary directory (its state in `<dir>/.codio`), and the small tools those tests
 * share (polling, liveness, curl, file digests).
 */
import { execFile, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { get as httpGet, type IncomingMessage } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { defaultServicesDir, serviceMain } from '@codio/local-cluster'
import { httpReady, outputReady, spawnService, type ServiceProcess } from '@codio/local-cluster/process'
import type { ClusterFile, ClusterProcess } from '../src/endpoints.js'
import { BIN } from './helpers.js'
import { until } from '@codio/testing'

export const exec = promisify(execFile)

export { until }

/** Whether a process with this PID exists (signal 0). */
export function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** The SHA-256 of a file, hex, streamed. */
export async function sha256File (path: string): Promise<string> {
  const h = createHash('sha256')
  for await (const b of createReadStream(path)) h.update(b)
  return h.digest('hex')
}

/** A download taken up to its first bytes and then held back (see {@link heldDownload}). */
export interface HeldDownload {
  /** The response's status. */
  status: number
  /** Read the rest; resolves with the whole body once the response ends complete, rejects if it is cut. */
  finish: () => Promise<Buffer>
}

/**
 * GET `url`, take the first body bytes, then stop reading: the server cannot finish the
 * response while the client holds back, so it is in flight for as long as the test needs (a
 * rate-limited client cannot promise that: a receive buffer that autotunes up to
 * net.ipv4.tcp_rmem's maximum, 32 MiB here, may take a whole content before the test acts).
 */
export async function heldDownload (url: string): Promise<HeldDownload> {
  const res = await new Promise<IncomingMessage>((resolve, reject) => { httpGet(url, resolve).once('error', reject) })
  const body: Buffer[] = [await new Promise<Buffer>((resolve, reject) => {
    res.once('data', (b: Buffer) => { res.pause(); resolve(b) }).once('error', reject).once('end', () => resolve(Buffer.alloc(0)))
  })]
  return {
    status: res.statusCode ?? 0,
    finish: async () => {
      res.on('data', (b: Buffer) => body.push(b)).resume()
      await once(res, 'end')
      if (!res.complete) throw new Error(`the response from ${url} was cut after ${body.reduce((n, b) => n + b.byteLength, 0)} bytes`)
      return Buffer.concat(body)
    }
  }
}

/** Run `curl -sS --max-time <maxTimeS> ...args`; stdout and stderr as Buffers (up to 64 MiB); rejects on a non-zero exit. */
export async function curl (args: string[], maxTimeS = 120): Promise<{ stdout: Buffer, stderr: Buffer }> {
  return await exec('curl', ['-sS', '--max-time', String(maxTimeS), ...args], { maxBuffer: 64 * 1024 * 1024, encoding: 'buffer' })
}

export interface LocalClusterOptions {
  /** Prefix of the temporary working directory (mkdtemp). */
  prefix: string
  /** The flags after `codio cluster --dir <dir>/.codio`, given the working directory `dir`. */
  args: (dir: string) => string[]
  /** What the cluster's output shows once it is ready. */
  ready: RegExp | string
  /** What the wait is for, in the error on a timeout. */
  what: string
  /** Run in the new working directory before the cluster starts (to write a sample file, say). */
  prepare?: (dir: string) => Promise<void>
  /** How long to wait for `ready`, ms (default 180 000). */
  timeoutMs?: number
}

export interface LocalCluster {
  /** The working directory (cwd of the cluster and of the CLI runs); removed by `stop`. */
  dir: string
  /** `<dir>/.codio/cluster.json` as read once the cluster was ready. */
  file: ClusterFile
  /** The `codio cluster` process. */
  child: ChildProcess
  /** The content ID the cluster printed for its sample (`sample content ID: ...`), if it published one. */
  sampleCid?: string
  /** What the cluster wrote to stdout and stderr so far (the last 256 Ki characters). */
  output: () => string
  /** The process of cluster.json named `name` (`edge-1`, `origin-1`, ...). */
  byName: (name: string) => ClusterProcess
  /** The processes of cluster.json with role `role`. */
  role: (role: string) => ClusterProcess[]
  /** `codio publish <path> --quiet ...flags` in `dir`; the content ID it printed last. */
  publish: (path: string, flags?: string[]) => Promise<string>
  /** SIGTERM the cluster (if it still runs) and wait for it to exit; its exit code. */
  terminate: () => Promise<number | null>
  /** `terminate`, then remove `dir`. */
  stop: () => Promise<void>
}

/**
 * Start `codio cluster` (in a process group of its own: whatever happens to this test process,
 * no node of the cluster outlives it) and wait until its output shows `ready`; then read
 * cluster.json. Throws (after stopping the cluster and removing the directory) when it exits
 * early or `timeoutMs` passes first.
 */
export async function startLocalCluster (opts: LocalClusterOptions): Promise<LocalCluster> {
  const dir = await mkdtemp(join(tmpdir(), opts.prefix))
  let cluster: ServiceProcess | undefined
  // the cluster's own stop waits up to 10 s for each node; SIGKILL (the whole group) after that
  const terminate = async (): Promise<number | null> => cluster == null ? null : (await cluster.stop({ graceMs: 30_000 })).code
  const stop = async (): Promise<void> => {
    await terminate()
    await rm(dir, { recursive: true, force: true })
  }
  try {
    await opts.prepare?.(dir)
    const c = cluster = spawnService({ name: 'codio cluster', script: BIN, args: ['cluster', '--dir', join(dir, '.codio'), ...opts.args(dir)], nodeFlags: [], cwd: dir, output: 'pipe', group: true })
    try {
      await c.ready(outputReady(opts.ready), { timeoutMs: opts.timeoutMs ?? 180_000, intervalMs: 100 })
    } catch (err: any) {
      throw new Error(`waiting for ${opts.what}: ${String(err?.message)}`, { cause: err })
    }
    const output = c.output
    const file: ClusterFile = JSON.parse(await readFile(join(dir, '.codio', 'cluster.json'), 'utf8'))
    return {
      dir,
      file,
      child: c.child,
      sampleCid: /sample content ID: (\S+)/.exec(output())?.[1],
      output,
      byName: (name) => file.processes.find(p => p.name === name)!,
      role: (role) => file.processes.filter(p => p.role === role),
      publish: async (path, flags = []) => {
        const { stdout } = await exec(process.execPath, [BIN, 'publish', path, ...flags, '--quiet'], { cwd: dir })
        return stdout.trim().split('\n').pop()!
      },
      terminate,
      stop
    }
  } catch (err) {
    await stop()
    throw err
  }
}

/**
 * The sum of a Prometheus metric's samples on `<baseUrl>/metrics` whose labels include every
 * one of `labels` (`name{...} value` lines; 0 when none match).
 */
export async function metric (baseUrl: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text()
  let sum = 0
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line)
    if (m == null || m[1] !== name) continue
    const have = m[2] ?? ''
    if (Object.entries(labels).every(([k, v]) => have.includes(`${k}="${v}"`))) sum += Number(m[3])
  }
  return sum
}

/**
 * Start a node of the cluster again from its own config (`<dataDir>/config.toml`: same ports,
 * same peer key) after it died, as the cluster starts it, and wait until it answers `/readyz`
 * (default 30 s). The cluster does not own this process: the caller stops it (SIGTERM) before
 * the cluster.
 */
export async function restartNode (p: ClusterProcess, stateDir: string, timeoutMs = 30_000): Promise<ChildProcess> {
  const node = spawnService({ name: p.name, script: serviceMain(defaultServicesDir(), p.role), args: ['--config', join(stateDir, p.name, 'config.toml')] })
  try {
    await node.ready(httpReady(`${p.http}/readyz`), { timeoutMs })
  } catch (err) {
    await node.stop({ graceMs: 0 })
    throw err
  }
  return node.child
}
