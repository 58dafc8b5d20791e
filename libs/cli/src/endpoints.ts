import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ClusterFileError, InvalidOptionError, MissingEndpointError } from './errors.js'

/** One process entry of `.codio/cluster.json`, as written by `codio cluster`. */
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

/** Shape of `.codio/cluster.json`. */
export interface ClusterFile {
  processes: ClusterProcess[]
  sample?: { cid: string, path: string }
  /** The base64url Ed25519 key the origin signs manifests with (trusted by every node). */
  publisherKey?: string
  /** The tracker and its NATS and Redis, when the cluster runs them. */
  tracker?: { pid: number, http: string, rpc: string, nats: string, redis: string, natsPid?: number, redisPid?: number, log?: string }
}

/** Where `npm start` records the running cluster, relative to the working directory. */
export const CLUSTER_FILE = join('.codio', 'cluster.json')

export interface ResolveEndpointOptions {
  /** The `--origin` / `--edge` flag value, if given. */
  flag?: string
  /** Environment to read `CODIO_ORIGIN` / `CODIO_EDGE` from. Default `process.env`. */
  env?: Record<string, string | undefined>
  /** Directory holding `.codio/cluster.json`. Default `process.cwd()`. */
  cwd?: string
}

/**
 * The base URL of an origin or edge: the flag, else `CODIO_ORIGIN`/`CODIO_EDGE`,
 * else the `http` of the first process with that role in `.codio/cluster.json`.
 *
 * @throws MissingEndpointError when none of the three gives one
 * @throws ClusterFileError when cluster.json exists but is unreadable or malformed
 * @throws InvalidOptionError when the URL found is not http(s)
 */
export async function resolveEndpoint (role: 'origin' | 'edge', options: ResolveEndpointOptions = {}): Promise<string> {
  const env = options.env ?? process.env
  const envName = role === 'origin' ? 'CODIO_ORIGIN' : 'CODIO_EDGE'
  const fromEnv = env[envName]
  if (options.flag != null && options.flag !== '') return checkUrl(options.flag, `--${role}`)
  if (fromEnv != null && fromEnv !== '') return checkUrl(fromEnv, envName)

  const path = join(options.cwd ?? process.cwd(), CLUSTER_FILE)
  const cluster = await readClusterFile(path)
  const proc = cluster?.processes.find(p => p.role === role)
  if (proc == null) {
    const why = cluster == null ? `${CLUSTER_FILE} not found` : `no ${role} process in ${path}`
    throw new MissingEndpointError(
      `no ${role} URL (${why}): start the cluster with \`npm start\`, pass --${role} URL, or set ${envName}`)
  }
  if (typeof proc.http !== 'string') throw new ClusterFileError(`${path}: ${role} process "${proc.name}" has no "http" URL`)
  return checkUrl(proc.http, `${path} (${proc.name})`)
}

/** Read and shape-check a cluster.json; `undefined` if it does not exist. */
export async function readClusterFile (path: string): Promise<ClusterFile | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err: any) {
    if (err?.code === 'ENOENT') return undefined
    throw new ClusterFileError(`cannot read ${path}: ${String(err?.message ?? err)}`, { cause: err })
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw new ClusterFileError(`${path} is not valid JSON`, { cause: err })
  }
  const processes = (parsed as ClusterFile | null)?.processes
  if (!Array.isArray(processes) || processes.some(p => p == null || typeof p !== 'object')) {
    throw new ClusterFileError(`${path} has no "processes" array`)
  }
  return parsed as ClusterFile
}

function checkUrl (text: string, source: string): string {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new InvalidOptionError(`${source}: not a URL: ${text}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidOptionError(`${source}: not an http(s) URL: ${text}`)
  }
  return text
}

/** `{base}/content[/<cid>]`, keeping any path prefix the base URL has. */
export function contentUrl (base: string, cid?: string): URL {
  const url = new URL(base)
  url.pathname = url.pathname.replace(/\/*$/, '/') + 'content' + (cid == null ? '' : '/' + encodeURIComponent(cid))
  url.search = ''
  url.hash = ''
  return url
}
