import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { containerRuntimeAvailable, startContainer, type ContainerSpec } from './container.js'
import { SidecarRestartError, SidecarUnavailableError, type SidecarKind } from './errors.js'
import { findBinary, searchDirs, DEFAULT_SEARCH_DIRS } from './find-binary.js'
import { startLocalServer, type LocalServerSpec } from './local-process.js'

/** A running backing server and how to get rid of it. */
export interface Sidecar {
  readonly kind: SidecarKind
  /** Where it came from: the environment's URL, a container, or a local binary. */
  readonly source: 'env' | 'container' | 'binary'
  /** e.g. `nats://127.0.0.1:40123` or `redis://127.0.0.1:40124`. A container's may change on restart. */
  readonly url: string
  /** The server process's pid (source `binary` only). */
  readonly pid: number | undefined
  /** The local server's working/data directory (source `binary` only). */
  readonly dir: string | undefined
  /**
   * Stop and start the server again; a local binary comes back on the same port. Resolves once
   * it accepts connections. Data is not kept (no persistence is configured).
   * @throws SidecarRestartError for a server given by URL (not ours to restart)
   */
  restart(): Promise<void>
  /** Stop the server this call started (a no-op for a URL from the environment) and remove its temporary directory. */
  stop(): Promise<void>
}

export interface SidecarOptions {
  /** Working/data directory of a local server. Default: a new temporary directory, removed on stop. */
  dir?: string
  /** Read for `NATS_URL` / `REDIS_URL` and `PATH`. Default `process.env`. */
  env?: Record<string, string | undefined>
  /** Try a container when a container runtime answers. Default true; the local cluster passes false. */
  containers?: boolean
  /** Searched for the binary after PATH. Default /usr/sbin, /usr/bin, /usr/local/sbin, /usr/local/bin. */
  searchDirs?: string[]
  /** Longest wait for a started server to accept connections, ms. Default 10 000. */
  readyTimeoutMs?: number
}

/** What {@link startSidecar} needs to know about one kind of server. */
export interface SidecarSpec {
  kind: SidecarKind
  /** e.g. `NATS_URL` */
  envVar: string
  scheme: string
  binary: string
  container: ContainerSpec
  local(binary: string, dir: string): Omit<LocalServerSpec, 'readyTimeoutMs' | 'cwd' | 'binary'>
}

/**
 * The precedence every Codio test and the local cluster use (TOOLBOX.md): the URL in the
 * environment when set → a container when a container runtime answers (and `containers` is not
 * false) → the local binary on a free loopback port → {@link SidecarUnavailableError}.
 *
 * @throws SidecarUnavailableError when nothing can provide the server (names the Debian package)
 * @throws SidecarStartError when a local server exits or does not accept connections in time
 */
export async function startSidecar (spec: SidecarSpec, options: SidecarOptions = {}): Promise<Sidecar> {
  const env = options.env ?? process.env
  const given = env[spec.envVar]
  if (given !== undefined && given !== '') {
    return {
      kind: spec.kind,
      source: 'env',
      url: given,
      pid: undefined,
      dir: undefined,
      restart: async () => { throw new SidecarRestartError(`${spec.kind} at ${given} comes from ${spec.envVar}; it is not ours to restart`) },
      stop: async () => {}
    }
  }

  if ((options.containers ?? true) && await containerRuntimeAvailable()) {
    const c = await startContainer(spec.container)
    return {
      kind: spec.kind,
      source: 'container',
      get url () { return `${spec.scheme}://${c.host()}:${c.port()}` },
      pid: undefined,
      dir: undefined,
      restart: async () => c.restart(),
      stop: async () => c.stop()
    }
  }

  const dirs = options.searchDirs ?? DEFAULT_SEARCH_DIRS
  const binary = findBinary(spec.binary, { env, dirs })
  if (binary === undefined) throw new SidecarUnavailableError(spec.kind, spec.binary, searchDirs({ env, dirs }))

  const ownDir = options.dir === undefined
  const dir = options.dir ?? await mkdtemp(join(tmpdir(), `codio-${spec.kind}-`))
  // a given directory may not exist yet (the server's working directory must)
  await mkdir(dir, { recursive: true })
  const local = spec.local(binary, dir)
  let server
  try {
    server = await startLocalServer({ ...local, binary, cwd: dir, readyTimeoutMs: options.readyTimeoutMs ?? 10_000 })
  } catch (err) {
    if (ownDir) await rm(dir, { recursive: true, force: true })
    throw err
  }
  let stopped = false
  return {
    kind: spec.kind,
    source: 'binary',
    url: `${spec.scheme}://${local.host}:${server.port}`,
    get pid () { return server.pid },
    dir,
    restart: async () => server.restart(),
    stop: async () => {
      if (stopped) return
      stopped = true
      await server.stop()
      if (ownDir) await rm(dir, { recursive: true, force: true })
    }
  }
}
