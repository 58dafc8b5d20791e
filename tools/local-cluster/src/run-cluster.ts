import { join } from 'node:path'
import { ClusterStartError } from './errors.js'
import { publishSample, type PublishFile } from './sample.js'
import { startCluster, type ClusterInit, type LocalCluster } from './start-cluster.js'

export interface ClusterOptions extends Omit<ClusterInit, 'say' | 'signal'> {
  /** File published at start; `false` publishes nothing. Default: the Node.js binary running this. */
  sample?: string | false
  /** How the sample is uploaded; needed unless `sample` is false. */
  publish?: PublishFile
  /** Where messages go. Default stdout. */
  out?: NodeJS.WritableStream
  /** Resolves when the cluster should stop (default: SIGINT or SIGTERM, from the start on). */
  until?: Promise<void>
}

/**
 * Resolves on the first SIGINT or SIGTERM; `dispose` removes the listeners. They stay until the
 * cluster has stopped: while they listen, the processes' reaper (see `reapOnExit`) leaves the
 * stop to this code, which is bounded (SIGKILL after 10 s).
 */
function onStopSignal (): { signalled: Promise<void>, dispose: () => void } {
  let stop = (): void => {}
  const signalled = new Promise<void>(resolve => { stop = resolve })
  const handler = (): void => { stop() }
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
  return {
    signalled,
    dispose: () => {
      process.removeListener('SIGINT', handler)
      process.removeListener('SIGTERM', handler)
    }
  }
}

function plural (n: number, word: string): string {
  return `${n} ${word}${n > 1 ? 's' : ''}`
}

function announce (cluster: LocalCluster, say: (line: string) => void): void {
  const { file } = cluster
  const count = (role: string): number => file.processes.filter(p => p.role === role).length
  say(`Codio local cluster is up: 1 origin, ${plural(count('relay'), 'relay')}, ${plural(count('edge'), 'edge')} (state in ${cluster.dir})`)
  for (const p of file.processes) say(`  ${p.name.padEnd(9)} http ${p.http}  admin ${p.admin}  peer ${p.peerId}`)
  const t = file.tracker
  if (t != null) say(`  tracker   http ${t.http}  rpc ${t.rpc}  (NATS ${t.nats}, Redis ${t.redis})`)
}

/**
 * `codio cluster`: start a local cluster ({@link startCluster}), publish a sample file at the
 * origin, print every process's URLs, the sample's content ID and where cluster.json is, and
 * run until `until` (SIGINT or SIGTERM); then stop every process. A stop asked for while the
 * cluster is still starting or publishing stops what runs and resolves.
 *
 * @throws ClusterStartError when a service is not built, a count is wrong, or a sample is asked
 *   for without `publish`
 * @throws ServiceStartError when a process exits early or is not ready in time
 */
export async function runCluster (options: ClusterOptions = {}): Promise<void> {
  const { sample, publish, until, out = process.stdout, ...init } = options
  const say = (line: string): void => { out.write(`${line}\n`) }
  if (sample !== false && publish == null) throw new ClusterStartError('a sample file needs a publish function (or sample: false)')
  const signals = until == null ? onStopSignal() : undefined
  const stopRequested = new AbortController()
  void (until ?? signals!.signalled).then(() => { stopRequested.abort(new Error('the cluster was asked to stop')) })
  let cluster: LocalCluster | undefined
  try {
    cluster = await startCluster({ ...init, say, signal: stopRequested.signal })
    announce(cluster, say)
    if (sample !== false) await publishSample(cluster, sample ?? process.execPath, publish!, say, stopRequested.signal)
    say(`cluster.json: ${join(cluster.dir, 'cluster.json')}`)
    say('Ctrl-C (or SIGTERM) stops every process.')
    await (until ?? signals!.signalled)
  } catch (err) {
    if (!stopRequested.signal.aborted) {
      await cluster?.stop()
      signals?.dispose()
      throw err
    }
  }
  say('stopping the cluster ...')
  await cluster?.stop()
  signals?.dispose()
  say('stopped.')
}
