import { createServer, type Server } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { AdminService, type PeerStats } from '@codio/proto'
import type { JsonObject } from '@bufbuild/protobuf'
import { Code, ConnectError, type ConnectRouter } from '@connectrpc/connect'
import { connectHandler } from './connect-handler.js'
import { toConnectError } from './errors.js'
import { Auth, authInterceptor, callCheck, loadTls, scopesOfRoutes, TokenSet, type TlsConfig } from '@codio/auth'
import { createLogger, type Logger } from '@codio/telemetry'
import { tracingInterceptor } from '@codio/tracing'

export interface StatusInfo {
  role: string
  peerId: string
  multiaddrs: string[]
  connectedPeers: number
  storedBlocks: number
  storedBytes: number
  contents: number
  uptimeSeconds: number
  version: string
  /** data chunks rebuilt from FEC parity since start */
  chunksRebuilt: number
  /** parity chunks fetched for rebuilds since start */
  parityChunksFetched: number
  /** FEC groups repaired since start */
  fecGroupsRepaired: number
}

export interface PrefetchResult {
  contentId: string
  size: number
  chunks: number
  chunksFetched: number
  seconds: number
}

/** What a Codio process exposes to operators. */
export interface AdminBackend {
  status(): Promise<StatusInfo>
  peerStats(): Promise<Array<Omit<PeerStats, '$typeName' | '$unknown'>>>
  /** Fetch and provide a content ID; resolves when every chunk is stored. */
  prefetch(contentId: string, signal: AbortSignal): Promise<PrefetchResult>
  listContent(): Promise<string[]>
  /**
   * Start taking the process out of service (see the `Drain` call): returns at once with the
   * requests in flight; the process exits once they are served or `timeoutMs` passes. Absent
   * where the process cannot drain (the call then answers Unimplemented).
   */
  drain?(timeoutMs: number): Promise<{ inFlight: number }>

  // The calls below are optional: a process without one answers Unimplemented.

  /** The effective configuration (secrets redacted) and each leaf's source. */
  getConfig?(): Promise<ConfigView>
  /**
   * Apply a partial document (TOML shape) to the paths in `mask` (empty: every leaf present).
   * @throws ConfigError (InvalidArgument) listing every bad key; RestartRequiredError (FailedPrecondition)
   */
  updateConfig?(config: JsonObject, mask: string[]): Promise<{ changed: string[], config: JsonObject }>
  /** Remove a content from this node (store, provider records, tracker availability). */
  purge?(contentId: string): Promise<{ held: boolean, chunksRemoved: number, bytesFreed: number }>
  banPeer?(peerId: string, reason: string, durationSeconds: number): Promise<{ connectionsClosed: number }>
  unbanPeer?(peerId: string): Promise<{ lifted: boolean }>
  listBans?(): Promise<BanInfo[]>
  trustKey?(publicKey: string): Promise<void>
  /** @returns the content IDs purged because only this key signed them */
  revokeKey?(publicKey: string): Promise<{ purgedContentIds: string[] }>
  listKeys?(): Promise<PublisherKeyInfo[]>
}

/** GetConfig's answer: the document and, per leaf setting, its provenance. */
export interface ConfigView {
  config: JsonObject
  sources: Array<{ path: string, source: 'default' | 'file' | 'env' | 'cluster' | 'runtime', live: boolean, redacted: boolean }>
}

export interface BanInfo {
  peerId: string
  reason: string
  /** Unix ms */
  createdMs: number
  /** Unix ms; 0 = until lifted */
  expiresMs: number
  scope: 'node' | 'cluster'
}

export interface PublisherKeyInfo {
  publicKey: string
  revoked: boolean
  source: 'file' | 'runtime' | 'cluster'
}

/** `Drain` without a timeout waits this long for requests in flight (ms). */
export const DEFAULT_DRAIN_TIMEOUT_MS = 300_000

/** The backend's optional method `name`, or Unimplemented. */
function need<K extends keyof AdminBackend> (backend: AdminBackend, name: K): NonNullable<AdminBackend[K]> {
  const fn = backend[name]
  if (fn == null) throw new ConnectError(`this process does not implement ${String(name)}`, Code.Unimplemented)
  return (fn as (...args: unknown[]) => unknown).bind(backend) as NonNullable<AdminBackend[K]>
}

async function guard<T> (fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    throw toConnectError(err)
  }
}

/** ConnectRPC routes of `codio.admin.v1.AdminService` over `backend`. Handlers stay thin. */
export function adminRoutes (backend: AdminBackend): (router: ConnectRouter) => void {
  return (router) => {
    router.service(AdminService, {
      getStatus: async () => guard(async () => {
        const s = await backend.status()
        return {
          ...s,
          storedBlocks: BigInt(s.storedBlocks),
          storedBytes: BigInt(s.storedBytes),
          chunksRebuilt: BigInt(s.chunksRebuilt),
          parityChunksFetched: BigInt(s.parityChunksFetched),
          fecGroupsRepaired: BigInt(s.fecGroupsRepaired)
        }
      }),
      getPeerStats: async () => guard(async () => ({ peers: await backend.peerStats() })),
      prefetch: async (req, ctx) => guard(async () => {
        const r = await backend.prefetch(req.contentId, ctx.signal)
        return { ...r, size: BigInt(r.size) }
      }),
      listContent: async () => guard(async () => ({ contentIds: await backend.listContent() })),
      drain: async (req) => guard(async () => {
        return await need(backend, 'drain')(req.timeoutSeconds > 0 ? req.timeoutSeconds * 1000 : DEFAULT_DRAIN_TIMEOUT_MS)
      }),
      getConfig: async () => guard(async () => await need(backend, 'getConfig')()),
      updateConfig: async (req) => guard(async () => await need(backend, 'updateConfig')(req.config ?? {}, req.updateMask)),
      purge: async (req) => guard(async () => {
        const r = await need(backend, 'purge')(req.contentId)
        return { ...r, bytesFreed: BigInt(r.bytesFreed) }
      }),
      banPeer: async (req) => guard(async () => await need(backend, 'banPeer')(req.peerId, req.reason, req.durationSeconds)),
      unbanPeer: async (req) => guard(async () => await need(backend, 'unbanPeer')(req.peerId)),
      listBans: async () => guard(async () => ({
        bans: (await need(backend, 'listBans')()).map(b => ({ ...b, createdMs: BigInt(b.createdMs), expiresMs: BigInt(b.expiresMs) }))
      })),
      trustKey: async (req) => guard(async () => { await need(backend, 'trustKey')(req.publicKey); return {} }),
      revokeKey: async (req) => guard(async () => await need(backend, 'revokeKey')(req.publicKey)),
      listKeys: async () => guard(async () => ({ keys: await need(backend, 'listKeys')() }))
    })
  }
}

export interface AdminServer {
  /** `http://host:port`, or `https://host:port` with TLS */
  readonly url: string
  close(): Promise<void>
}

export interface AdminServerInit {
  /** Default `127.0.0.1`. */
  host?: string
  /** Default 0 (any free port). */
  port?: number
  backend: AdminBackend
  /**
   * The process's credentials (`[auth]` table): read calls (`Get*`/`List*`) need a read token,
   * the others an admin token. Default: no tokens, which serves loopback openly and refuses
   * to start beyond it.
   */
  auth?: Auth
  /** PEM certificate and key: the API is then served over HTTPS. */
  tls?: TlsConfig
  /**
   * Largest request body, bytes (default 4 MiB, `DEFAULT_MAX_REQUEST_BYTES`): a bigger one
   * answers `resource_exhausted` without being read whole.
   */
  maxRequestBytes?: number
  /** Where calls that failed while their answer was written are reported (debug). */
  log?: Logger
}

/**
 * Serve the admin API over HTTP/1.1 (Connect and gRPC-web protocols; HTTPS with `tls`) on
 * `host:port`, each call checked against `auth` (`unauthenticated` / `permission_denied`).
 * Request bodies over `maxRequestBytes` answer `resource_exhausted`, binary messages that do
 * not decode `invalid_argument` (see {@link connectHandler}).
 *
 * @throws AuthRequiredError when the host is beyond loopback (or `auth.required = "always"`)
 *   and no token can make the calls; TlsConfigError when the TLS files cannot be read;
 *   RangeError when `maxRequestBytes` is not an integer from 1 to 2^32−1
 */
export async function startAdminServer (init: AdminServerInit): Promise<AdminServer> {
  const host = init.host ?? '127.0.0.1'
  const routes = adminRoutes(init.backend)
  const auth = init.auth ?? Auth.withTokens(TokenSet.of({}), { log: createLogger({ name: 'admin', level: 'silent' }) })
  const gate = auth.gate({ name: 'admin', host, port: init.port, scopes: scopesOfRoutes(routes) })
  const handler = connectHandler({
    routes,
    // the span outermost, so it covers the token check (a call the precheck refuses before its body is read has none)
    interceptors: [tracingInterceptor('server'), authInterceptor(gate)],
    precheck: callCheck(gate),
    maxRequestBytes: init.maxRequestBytes,
    onError: (err, procedure) => init.log?.debug({ procedure, err: (err as Error).message }, 'admin call failed while answering')
  })
  const server: Server = init.tls == null ? createServer(handler) : createHttpsServer(await loadTls(init.tls), handler)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(init.port ?? 0, host, () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `${init.tls == null ? 'http' : 'https'}://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: async () => {
      // answers being written (a Drain's own response) finish; idle keep-alive connections go
      // now, and whatever still hangs on after 2 s is cut
      const closed = new Promise<void>(resolve => server.close(() => resolve()))
      server.closeIdleConnections()
      const cut = setTimeout(() => server.closeAllConnections(), 2000)
      await closed
      clearTimeout(cut)
    }
  }
}
