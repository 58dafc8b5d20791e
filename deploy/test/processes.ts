/** What the container tests share: running commands, polling, and finding a Docker API. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository's root. */
export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/**
 * The Docker API to use: DOCKER_HOST when set, else the CLI's default socket, else the Podman
 * socket `../shared/tools/container-runtime.sh` serves (turbo does not pass DOCKER_HOST through
 * to tests). `host` is undefined when none answers, with the first error in `error`.
 */
export function findDockerHost (): { host?: string, error?: string } {
  let error = ''
  for (const host of [process.env.DOCKER_HOST, '', 'unix:///run/podman/podman.sock']) {
    if (host === undefined) continue
    const r = spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8', env: { ...process.env, DOCKER_HOST: host } })
    if (r.status === 0) return { host }
    error ||= (r.stderr ?? String(r.error)).trim()
  }
  return { error }
}

export interface Run { code: number | null, stdout: string, stderr: string }

/** Run a command to its end in the repository's root (asynchronously: the test's timers keep running). */
export async function run (cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return await new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: root, env: { ...process.env, ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', d => { stdout += String(d) })
    child.stderr.on('data', d => { stderr += String(d) })
    child.once('error', reject)
    child.once('close', code => { resolve({ code, stdout, stderr }) })
  })
}

/** {@link run}, throwing with the command's output when it exits non-zero. */
export async function must (cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await run(cmd, args, env)
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}:\n${r.stderr.slice(-4000)}\n${r.stdout.slice(-2000)}`)
  return r.stdout
}

/** Call `check` every `everyMs` (default a second) until it returns a value; throws after `ms` with the last error. */
export async function poll<T> (what: string, ms: number, check: () => Promise<T | undefined>, everyMs = 1000): Promise<T> {
  const end = Date.now() + ms
  let last: unknown
  while (Date.now() < end) {
    try {
      const v = await check()
      if (v !== undefined) return v
    } catch (err) { last = err }
    await new Promise(resolve => setTimeout(resolve, everyMs))
  }
  throw new Error(`${what} not within ${ms} ms${last == null ? '' : `: ${String(last)}`}`)
}

/** SIGTERM `child` and wait for its exit; `kill` (e.g. SIGKILL to its group) after `timeoutMs`. */
export async function stopChild (child: ChildProcess | undefined, kill: () => void, timeoutMs = 10_000): Promise<void> {
  if (child == null || child.exitCode != null || child.signalCode != null) return
  await new Promise<void>(resolve => {
    const timer = setTimeout(() => { try { kill() } catch {} }, timeoutMs)
    child.once('exit', () => { clearTimeout(timer); resolve() })
    child.kill('SIGTERM')
  })
}
