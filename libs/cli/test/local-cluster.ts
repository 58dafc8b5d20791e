/**
 * A real local cluster for the e2e tests: the built CLI's `codio cluster` as a child process in
 * a fresh temporary directory (its state in `<dir>/.codio`), and the small tools those tests
 * share (polling, liveness, curl, file digests).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { get as httpGet, type IncomingMessage } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
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
  /** Everything the cluster wrote to stdout and stderr so far. */
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
 * Start `codio cluster` and wait until its output shows `ready`; then read cluster.json.
 * Throws (after stopping the cluster and removing the directory) when it exits early or
 * `timeoutMs` passes first.
 */
export async function startLocalCluster (opts: LocalClusterOptions): Promise<LocalCluster> {
  const dir = await mkdtemp(join(tmpdir(), opts.prefix))
  let child: ChildProcess | undefined
  let output = ''
  const terminate = async (): Promise<number | null> => {
    if (child == null) return null
    const c = child
    if (c.exitCode != null || c.signalCode != null) return c.exitCode
    const exited = new Promise<number | null>(resolve => c.once('exit', code => resolve(code)))
    c.kill('SIGTERM')
    return await exited
  }
  const stop = async (): Promise<void> => {
    await terminate()
    await rm(dir, { recursive: true, force: true })
  }
  try {
    await opts.prepare?.(dir)
    const c = child = spawn(process.execPath, [BIN, 'cluster', '--dir', join(dir, '.codio'), ...opts.args(dir)], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
    c.stdout!.on('data', (b: Buffer) => { output += b.toString() })
    c.stderr!.on('data', (b: Buffer) => { output += b.toString() })
    const ready = (): boolean => typeof opts.ready === 'string' ? output.includes(opts.ready) : opts.ready.test(output)
    await until(() => ready() || c.exitCode != null, opts.timeoutMs ?? 180_000, opts.what)
    if (c.exitCode != null) throw new Error(`cluster exited early:\n${output}`)
    const file: ClusterFile = JSON.parse(await readFile(join(dir, '.codio', 'cluster.json'), 'utf8'))
    return {
      dir,
      file,
      child: c,
      sampleCid: /sample content ID: (\S+)/.exec(output)?.[1],
      output: () => output,
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
 * same peer key) after it died, and wait until it answers `/readyz` (default 30 s). The
 * cluster does not own this process: the caller stops it (SIGTERM) before the cluster.
 */
export async function restartNode (p: ClusterProcess, stateDir: string, timeoutMs = 30_000): Promise<ChildProcess> {
  const services = join(BIN, '..', '..', '..', '..', 'services')
  const config = join(stateDir, p.name, 'config.toml')
  const child = spawn(process.execPath, [join(services, p.role, 'dist', 'main.js'), '--config', config], { stdio: 'ignore' })
  try {
    await until(async () => {
      if (child.exitCode != null) throw new Error(`${p.name} exited (${child.exitCode}) on restart`)
      try {
        return (await fetch(`${p.http}/readyz`, { signal: AbortSignal.timeout(1000) })).ok
      } catch {
        return false
      }
    }, timeoutMs, `${p.name} to be ready again`, 150)
  } catch (err) {
    child.kill('SIGKILL')
    throw err
  }
  return child
}
