/**
 * The benchmarks' local cluster: `codio cluster --no-sample` (libs/cli, built; the supervisor of
 * tools/local-cluster) in `dir/.codio`, its own processes on loopback, the way `npm start` runs
 * it, started through the helper the supervisor starts its services with (spawnService of
 * `@codio/local-cluster/process`): in a process group of its own, so no node of the cluster
 * outlives the benchmark however it ends.
 */
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { outputReady, spawnService } from '@codio/local-cluster/process'

const cli = fileURLToPath(new URL('../libs/cli/dist/bin.js', import.meta.url))

/**
 * Start a cluster of `edges` edges and `relays` relays (default 1 each) with `env` on top of this
 * process's environment; resolves once it has written `cluster.json` (`readyTimeoutMs`, default
 * 2 minutes, at most), with the supervisor's child process (SIGTERM stops every process), its
 * output so far, `stop()` (SIGTERM, then SIGKILL to the whole group after 30 s) and that file.
 * A cluster that exits or does not come up is stopped and the call rejects with its output.
 */
export async function startCluster (dir, { edges = 1, relays = 1, env = {}, readyTimeoutMs = 120_000 } = {}) {
  await mkdir(dir, { recursive: true })
  const args = ['cluster', '--dir', join(dir, '.codio'), '--no-sample', '--edges', String(edges), '--relays', String(relays), '--log-level', 'warn']
  const cluster = spawnService({ name: 'codio cluster', script: cli, args, nodeFlags: [], cwd: dir, env: { ...process.env, ...env }, output: 'pipe', group: true })
  try {
    await cluster.ready(outputReady('cluster.json:'), { timeoutMs: readyTimeoutMs, intervalMs: 100 })
  } catch (err) {
    await cluster.stop({ graceMs: 30_000 })
    throw err
  }
  const file = JSON.parse(await readFile(join(dir, '.codio', 'cluster.json'), 'utf8'))
  return {
    child: cluster.child,
    output: cluster.output,
    stop: async () => { await cluster.stop({ graceMs: 30_000 }) },
    file,
    byName: name => file.processes.find(p => p.name === name)
  }
}
