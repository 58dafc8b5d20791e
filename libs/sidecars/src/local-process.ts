import { spawn, type ChildProcess } from 'node:child_process'
import { SidecarStartError } from './errors.js'
import { freePort, probe } from './ports.js'

/** How to run and recognise one kind of server. */
export interface LocalServerSpec {
  /** For messages, e.g. `nats-server`. */
  name: string
  /** Absolute path of the binary. */
  binary: string
  host: string
  /** Command-line arguments for listening on `port`. */
  args(port: number): string[]
  /** Working directory of the process. */
  cwd: string
  /** What a ready server answers on a fresh connection (after `hello`, if given). */
  expect: string
  hello?: string
  readyTimeoutMs: number
}

/** A server process on a loopback port that this process started and owns. */
export interface LocalServer {
  readonly port: number
  readonly pid: number
  /** Stop the process and start it again on the same port; resolves when it accepts connections. */
  restart(): Promise<void>
  /** SIGTERM, then SIGKILL after 3 s; resolves when the process has exited. Idempotent. */
  stop(): Promise<void>
}

const OUTPUT_TAIL = 4096

// Every child still running, killed synchronously if this process exits without stopping them
// (a test runner that bails out, an uncaught error): a sidecar must never outlive its owner.
const live = new Set<ChildProcess>()
let exitHookInstalled = false
function track (child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.once('exit', () => { for (const c of live) c.kill('SIGKILL') })
  }
  live.add(child)
  child.once('exit', () => live.delete(child))
}

interface Running {
  child: ChildProcess
  exited: Promise<void>
  output: () => string
}

function launch (spec: LocalServerSpec, port: number): Running {
  const child = spawn(spec.binary, spec.args(port), { cwd: spec.cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  track(child)
  let output = ''
  const keep = (b: Buffer): void => { output = (output + b.toString('utf8')).slice(-OUTPUT_TAIL) }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  const exited = new Promise<void>(resolve => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    else child.once('exit', () => resolve())
    child.once('error', () => resolve())
  })
  return { child, exited, output: () => output }
}

async function waitReady (spec: LocalServerSpec, port: number, run: Running): Promise<'ready' | 'exited'> {
  let exited = false
  void run.exited.then(() => { exited = true })
  const deadline = Date.now() + spec.readyTimeoutMs
  while (Date.now() < deadline) {
    if (exited) return 'exited'
    if (await probe(spec.host, port, spec.expect, spec.hello)) return 'ready'
    if (exited) return 'exited'
    await new Promise(resolve => setTimeout(resolve, 25))
  }
  await kill(run)
  throw new SidecarStartError(`${spec.name} did not accept connections on ${spec.host}:${port} within ${spec.readyTimeoutMs} ms`, run.output())
}

async function kill (run: Running): Promise<void> {
  const { child } = run
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
  await run.exited
  clearTimeout(timer)
}

/**
 * Start `spec.binary` on a free port (or `port`) and wait until it answers its protocol's
 * greeting (polling every 25 ms, no fixed sleep). When the process exits before it is ready
 * (e.g. another process took the port in between), it is tried again on a new port, up to
 * three times.
 *
 * @throws SidecarStartError with the server's last output when it does not come up
 */
export async function startLocalServer (spec: LocalServerSpec, fixedPort?: number): Promise<LocalServer> {
  let port = fixedPort ?? await freePort(spec.host)
  let run: Running | undefined
  for (let attempt = 1; ; attempt++) {
    const candidate = launch(spec, port)
    const state = await waitReady(spec, port, candidate)
    if (state === 'ready') {
      run = candidate
      break
    }
    const reason = candidate.child.exitCode ?? candidate.child.signalCode
    if (attempt >= 3 || fixedPort !== undefined) {
      throw new SidecarStartError(`${spec.name} exited (${String(reason)}) before accepting connections on ${spec.host}:${port}`, candidate.output())
    }
    port = await freePort(spec.host)
  }

  let current: Running = run
  let stopped = false
  return {
    port,
    get pid () { return current.child.pid ?? -1 },
    async restart () {
      if (stopped) throw new SidecarStartError(`${spec.name} was stopped`)
      await kill(current)
      // the port was just released; the server sets SO_REUSEADDR, but give it a few tries
      for (let attempt = 1; ; attempt++) {
        const next = launch(spec, port)
        current = next
        if (await waitReady(spec, port, next) === 'ready') return
        if (attempt >= 5) throw new SidecarStartError(`${spec.name} did not restart on ${spec.host}:${port}`, next.output())
        await new Promise(resolve => setTimeout(resolve, 100))
      }
    },
    async stop () {
      stopped = true
      await kill(current)
    }
  }
}
