import { rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/** One process entry of `cluster.json`. */
export interface ClusterProcess {
  role: 'origin' | 'relay' | 'edge'
  name: string
  pid: number
  http: string
  admin: string
  peerId: string
  multiaddrs: string[]
  /** The process's log file. */
  log?: string
  dataDir?: string
}

/** The tracker and its NATS and Redis, when the cluster runs them. */
export interface ClusterTracker {
  pid: number
  http: string
  rpc: string
  nats: string
  redis: string
  natsPid?: number
  redisPid?: number
  log?: string
}

/** Shape of `<dir>/cluster.json`, which the `codio` commands read to find the cluster. */
export interface ClusterFile {
  processes: ClusterProcess[]
  sample?: { cid: string, path: string }
  /** The base64url Ed25519 key the origin signs manifests with (trusted by every node). */
  publisherKey?: string
  tracker?: ClusterTracker
}

/** Write `<dir>/cluster.json` atomically (tmp + rename: a reader never sees half of it). */
export async function writeClusterFile (dir: string, file: ClusterFile): Promise<void> {
  const path = join(dir, 'cluster.json')
  await writeFile(`${path}.tmp`, JSON.stringify(file, null, 2) + '\n')
  await rename(`${path}.tmp`, path)
}
