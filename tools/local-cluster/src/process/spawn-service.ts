import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { SERVICE_NODE_FLAGS } from '@codio/sidecars'
import { ServiceStartError } from '../errors.js'
import { collectOutput, lastLines, logTail } from './output.js'
import type { ReadyCheck } from './readiness.js'
import { reapOnExit } from './reaper.js'

/** Where a service's stdout and stderr go. */
export type ServiceOutput = 'pipe' | 'inherit' | 'ignore' | { file: string }

export interface ServiceInit {
  /** For messages, e.g. `edge-1`. */
  name: string
  /** The script Node runs, e.g. the absolute path of `services/edge/dist/main.js`. */
  script: string
  /** Arguments after the script, e.g. `['--config', path]`. */
  args?: string[]
  /**
   * Node/V8 flags before the script. Default `SERVICE_NODE_FLAGS` of `@codio/sidecars`, as the
   * images start every service; `[]` for a process that is no service (the `codio` CLI).
   */
  nodeFlags?: readonly string[]
  /**
   * stdout and stderr: `{ file }` appends both to that file (a service's log), `'pipe'` keeps the
   * last `outputLimit` characters of both in memory (see {@link ServiceProcess.output}),
   * `'inherit'` or `'ignore'`. Default `'ignore'`.
   */
  output?: ServiceOutput
  /** Characters of piped output kept. Default 256 Ki. */
  outputLimit?: number
  cwd?: string
  /** Default `process.env`. */
  env?: NodeJS.ProcessEnv
  /**
   * Run in a process group of its own, for a process that starts processes (the cluster
   * supervisor): a forced stop and the exit of this process then kill the whole group, so
   * nothing it started outlives it even when it is killed. Such a process does not receive the
   * terminal's Ctrl-C; it is stopped through this handle. Default false.
   */
  group?: boolean
}

/** How a process ended: its exit code, or the signal that ended it, or why it could not be spawned. */
export interface ServiceExit {
  code: number | null
  signal: NodeJS.Signals | null
  error?: Error
}

export interface ReadyOptions {
  /** Longest wait, ms. Default 60 000. */
  timeoutMs?: number
  /** Pause between checks, ms. Default 150. */
  intervalMs?: number
  /** Ends the wait: `ready` rejects with the signal's reason. */
  signal?: AbortSignal
}

/** A Node process started by {@link spawnService}; it is killed if this process exits first. */
export interface ServiceProcess {
  readonly name: string
  readonly child: ChildProcess
  /** Its pid; -1 when it could not be spawned. */
  readonly pid: number
  /** Resolves once it has exited (or failed to spawn). */
  readonly exited: Promise<ServiceExit>
  /** Whether it runs: spawned and not exited. */
  running: () => boolean
  /** The piped output kept so far (`output: 'pipe'`), else ''. */
  output: () => string
  /**
   * Call `check` every `intervalMs` until it resolves true.
   * @throws ServiceStartError with the last lines of its log or output when the process exits
   *   first or `timeoutMs` passes (the process is left running: stop it)
   * @throws the signal's reason when `signal` aborts
   */
  ready: (check: ReadyCheck, options?: ReadyOptions) => Promise<void>
  /**
   * SIGTERM, then SIGKILL (to its group with `group`) when it has not exited after `graceMs`
   * (default 10 000); resolves once it has exited. Idempotent.
   */
  stop: (options?: { graceMs?: number }) => Promise<ServiceExit>
}

const pause = async (ms: number, signal?: AbortSignal): Promise<void> => await new Promise(resolve => {
  const done = (): void => { clearTimeout(timer); signal?.removeEventListener('abort', done); resolve() }
  const timer = setTimeout(done, ms)
  signal?.addEventListener('abort', done, { once: true })
})

function stdio (output: ServiceOutput): { stdio: StdioOptions, fd?: number } {
  if (typeof output === 'object') {
    const fd = openSync(output.file, 'a')
    return { stdio: ['ignore', fd, fd], fd }
  }
  return { stdio: ['ignore', output, output] }
}

/**
 * Start `node [nodeFlags] script [args]` (the Node binary running this process). Never throws:
 * a spawn that fails shows as an `exited` with `error`, and `ready` then says why.
 */
export function spawnService (init: ServiceInit): ServiceProcess {
  const { name, group = false } = init
  const output = init.output ?? 'ignore'
  const io = stdio(output)
  let child: ChildProcess
  try {
    child = spawn(process.execPath, [...(init.nodeFlags ?? SERVICE_NODE_FLAGS), init.script, ...(init.args ?? [])], {
      stdio: io.stdio,
      cwd: init.cwd,
      env: init.env ?? process.env,
      detached: group
    })
  } finally {
    // the child holds its own copy of the log's descriptor
    if (io.fd != null) closeSync(io.fd)
  }
  reapOnExit(child, group)
  const piped = output === 'pipe' ? collectOutput([child.stdout, child.stderr], init.outputLimit ?? 256 * 1024) : () => ''

  let exit: ServiceExit | undefined
  const exited = new Promise<ServiceExit>(resolve => {
    child.once('exit', (code, signal) => resolve(exit ??= { code, signal }))
    child.on('error', error => { if (child.pid == null) resolve(exit ??= { code: null, signal: null, error }) })
  })
  // piped output may still be arriving when 'exit' fires; 'close' follows once it has all come
  const closed = new Promise<void>(resolve => child.once('close', () => resolve()))
  const running = (): boolean => exit == null && child.pid != null

  const where = (): string => typeof output === 'object' ? `; its log: ${output.file}` : output === 'pipe' ? '; its output:' : ''
  const tail = async (): Promise<string> => {
    if (typeof output === 'object') return logTail(output.file)
    if (output !== 'pipe') return ''
    await Promise.race([closed, pause(250)])
    return lastLines(piped())
  }
  const killHard = (): void => {
    try {
      if (group && child.pid != null) process.kill(-child.pid, 'SIGKILL')
      else child.kill('SIGKILL')
    } catch {
      // gone already
    }
  }

  return {
    name,
    child,
    pid: child.pid ?? -1,
    exited,
    running,
    output: piped,
    async ready (check, options = {}) {
      const deadline = Date.now() + (options.timeoutMs ?? 60_000)
      // a spawn that failed has no pid; its 'error' comes on a later tick
      if (child.pid == null) await exited
      while (true) {
        options.signal?.throwIfAborted()
        if (exit != null) {
          const how = exit.error != null ? `could not be started (${exit.error.message})` : `exited (${exit.code ?? exit.signal})`
          throw new ServiceStartError(name, `${name} ${how} before it was ready${where()}`, await tail())
        }
        try {
          if (await check(piped())) return
        } catch {
          // not answering yet
        }
        if (Date.now() > deadline) throw new ServiceStartError(name, `${name} was not ready in time${where()}`, await tail())
        await pause(options.intervalMs ?? 150, options.signal)
      }
    },
    async stop ({ graceMs = 10_000 } = {}) {
      if (running()) {
        const timer = setTimeout(killHard, graceMs)
        child.kill('SIGTERM')
        await exited
        clearTimeout(timer)
        // whatever a group leader left behind in its group (right away: its pid is free again)
        if (group) killHard()
      }
      return await exited
    }
  }
}
