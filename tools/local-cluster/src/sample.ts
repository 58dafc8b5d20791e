import { stat } from 'node:fs/promises'
import type { LocalCluster } from './start-cluster.js'

/**
 * Upload `file` to the origin at base URL `origin` and resolve with its content ID; rejects when
 * the origin refuses or `signal` aborts. The `codio` CLI passes its `publish` command.
 */
export type PublishFile = (file: string, origin: string, signal: AbortSignal) => Promise<string>

/**
 * Publish `path` at the cluster's origin, record it in cluster.json (`sample`) and say how to
 * fetch it from each edge.
 */
export async function publishSample (cluster: LocalCluster, path: string, publish: PublishFile, say: (line: string) => void, signal: AbortSignal): Promise<string> {
  const origin = cluster.file.processes.find(p => p.role === 'origin')!
  const size = (await stat(path)).size
  say(`publishing sample ${path} (${size} bytes) at ${origin.http} ...`)
  const cid = await publish(path, origin.http, signal)
  cluster.file.sample = { cid, path }
  await cluster.save()
  say(`sample content ID: ${cid}`)
  for (const e of cluster.file.processes.filter(p => p.role === 'edge')) say(`  curl -o sample.bin ${e.http}/content/${cid}`)
  return cid
}
