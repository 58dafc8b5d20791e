/**
 * The benchmarks' local cluster: `codio cluster --no-sample` (libs/cli, built) in `dir/.codio`,
 * its own processes on loopback, the way `npm start` runs it.
 */
import { spawn } from 'node:child_process'
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const cli = fileURLToPath(new URL('../libs/cli/dist/bin.js', import.meta.url))

/**
 * Start a cluster of `edges` edges and `relays` relays (default 1 each) with `env` on top of this
 * process's environment; resolves once it has written `cluster.json` (2 minutes at most), with
 * the child (SIGTERM stops every process) and that file. A cluster that exits or does not come
 * up is stopped and the call rejects with its output.
 */
export async function startCluster (dir, { edges = 1, relays = 1, env = {} } = {}) {
  await mkdir(dir, { recursive: true })
  const args = [cli, 'cluster', '--dir', join(dir, '.codio'), '--no-sample', '--edges', String(edges), '--relays', String(relays), '--log-level', 'warn']
  const child = spawn(process.execPath, args, { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } })
  let out = ''
  child.stdout.on('data', b => { out += b })
  const t0 = Date.now()
  while (!out.includes('cluster.json:')) {
    if (child.exitCode != null) throw new Error(`cluster exited:\n${out}`)
    if (Date.now() - t0 > 120_000) {
      child.kill('SIGTERM')
      throw new Error(`cluster not ready in 120 s:\n${out}`)
    }
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  const file = JSON.parse(await readFile(join(dir, '.codio', 'cluster.json'), 'utf8'))
  return { child, file, byName: name => file.processes.find(p => p.name === name) }
}
