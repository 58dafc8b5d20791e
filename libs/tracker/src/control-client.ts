import { ControlService } from '@codio/proto'
import { createClient, type Client, type Interceptor } from '@connectrpc/connect'
import { createConnectTransport } from '@connectrpc/connect-node'
import { tracingInterceptor } from '@codio/tracing'

/** A typed client of `codio.tracker.v1.ControlService` (see control.proto for the calls). */
export type ControlClient = Client<typeof ControlService>

export interface ControlClientOptions {
  /**
   * Bearer token sent as `Authorization: Bearer <token>` on every call: a string, or a function
   * asked before each call (to follow a rotated token file). Empty or undefined = no header.
   */
  token?: string | (() => string | undefined | Promise<string | undefined>)
  /** Default deadline of every call, ms, Watch included (so leave it unset on a client that watches); none by default. */
  timeoutMs?: number
}

/**
 * A ControlService client over the Connect protocol (HTTP/1.1, so it passes any proxy), for the
 * node's watcher and the `codio admin ... --cluster` commands. Calls reject with ConnectError:
 * InvalidArgument, Aborted (stale `expected_version`), FailedPrecondition (a key needing a
 * restart), NotFound (unknown job), Unauthenticated / PermissionDenied (token), Unavailable.
 *
 * @param url the tracker's RPC listener, e.g. `http://tracker:7091`
 *
 * @example
 * ```ts
 * const client = createControlClient('http://tracker:7091', { token: await readClientToken('/run/secrets/admin') }) // @codio/auth
 * const { config } = await client.updateClusterConfig({ role: 'edge', config: { swarm: { maxUploadRate: '10MB' } } })
 * ```
 */
export function createControlClient (url: string, options: ControlClientOptions = {}): ControlClient {
  const { token } = options
  const auth: Interceptor = (next) => async (req) => {
    const t = typeof token === 'function' ? await token() : token
    if (t !== undefined && t !== '') req.header.set('authorization', `Bearer ${t}`)
    return await next(req)
  }
  return createClient(ControlService, createConnectTransport({
    baseUrl: url,
    httpVersion: '1.1',
    interceptors: [tracingInterceptor('client'), auth],
    defaultTimeoutMs: options.timeoutMs
  }))
}
