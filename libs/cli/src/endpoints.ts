import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ClusterFile, ClusterProcess } from '@codio/local-cluster'
import { ClusterFileError, InvalidOptionError, MissingEndpointError } from './errors.js'

// written by the local-cluster supervisor (`codio cluster`), read here
export type { ClusterFile, ClusterProcess }

/** Where `npm start` records the running cluster, relative to the working directory. */
export const CLUSTER_FILE = join('.codio', 'cluster.json')

export interface ResolveEndpointOptions {
  /** The `--origin` / `--edge` / `--admin` / `--tracker` flag value, if given. */
  flag?: string
  /** Environment to read `CODIO_ORIGIN` / `CODIO_EDGE` / `CODIO_ADMIN` / `CODIO_TRACKER` from. Default `process.env`. */
  env?: Record<string, string | undefined>
  /** Directory holding `.codio/cluster.json`. Default `process.cwd()`. */
  cwd?: string
}

/**
 * What a URL is for: an origin's or edge's HTTP API, a node's admin API (ConnectRPC,
 * `codio.admin.v1`), or the tracker's ConnectRPC API (`codio.tracker.v1`).
 */
export type EndpointKind = 'origin' | 'edge' | 'admin' | 'tracker'

const ENV_NAMES: Record<EndpointKind, string> = { origin: 'CODIO_ORIGIN', edge: 'CODIO_EDGE', admin: 'CODIO_ADMIN', tracker: 'CODIO_TRACKER' }

/**
 * The base URL of an endpoint: the flag, else `CODIO_ORIGIN`/`CODIO_EDGE`/`CODIO_ADMIN`/
 * `CODIO_TRACKER`, else `.codio/cluster.json`: the `http` of the first origin/edge, the `admin`
 * of the first edge, or the tracker's `rpc`. An `--admin` flag that is not a URL but names a
 * process of cluster.json (`edge-2`, `relay-1`) is that process's admin URL.
 *
 * @throws MissingEndpointError when none of the three gives one
 * @throws ClusterFileError when cluster.json exists but is unreadable or malformed
 * @throws InvalidOptionError when the URL found is not http(s)
 */
export async function resolveEndpoint (kind: EndpointKind, options: ResolveEndpointOptions = {}): Promise<string> {
  const env = options.env ?? process.env
  const envName = ENV_NAMES[kind]
  const fromEnv = env[envName]
  const path = join(options.cwd ?? process.cwd(), CLUSTER_FILE)
  if (options.flag != null && options.flag !== '') {
    if (kind === 'admin' && /^[\w.-]+$/.test(options.flag)) return await adminOfProcess(path, options.flag)
    return checkUrl(options.flag, `--${kind}`)
  }
  if (fromEnv != null && fromEnv !== '') return checkUrl(fromEnv, envName)

  const cluster = await readClusterFile(path)
  const missing = (what: string): MissingEndpointError => {
    const why = cluster == null ? `${CLUSTER_FILE} not found` : `${what} in ${path}`
    return new MissingEndpointError(
      `no ${kind} URL (${why}): start the cluster with \`npm start\`, pass --${kind} URL, or set ${envName}`)
  }
  if (kind === 'tracker') {
    const rpc = cluster?.tracker?.rpc
    if (rpc == null) throw missing('no tracker')
    if (typeof rpc !== 'string') throw new ClusterFileError(`${path}: the tracker has no "rpc" URL`)
    return checkUrl(rpc, `${path} (tracker)`)
  }
  const role = kind === 'admin' ? 'edge' : kind
  const field = kind === 'admin' ? 'admin' : 'http'
  const proc = cluster?.processes.find(p => p.role === role)
  if (proc == null) throw missing(`no ${role} process`)
  if (typeof proc[field] !== 'string') throw new ClusterFileError(`${path}: ${role} process "${proc.name}" has no "${field}" URL`)
  return checkUrl(proc[field], `${path} (${proc.name})`)
}

/** The admin URL of the process named `name` in cluster.json. */
async function adminOfProcess (path: string, name: string): Promise<string> {
  const cluster = await readClusterFile(path)
  const proc = cluster?.processes.find(p => p.name === name)
  if (proc == null) {
    throw new InvalidOptionError(`--admin: not a URL, and ${cluster == null ? `${CLUSTER_FILE} not found` : `no process named "${name}" in ${path}`}: ${name}`)
  }
  if (typeof proc.admin !== 'string') throw new ClusterFileError(`${path}: process "${name}" has no "admin" URL`)
  return checkUrl(proc.admin, `${path} (${name})`)
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
