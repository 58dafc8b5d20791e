import { bearerInterceptor } from '@codio/auth'
import { AdminService } from '@codio/proto'
import { createClient, type Client } from '@connectrpc/connect'
import { createConnectTransport } from '@connectrpc/connect-node'

export interface AdminClientOptions {
  /** Bearer token sent with every call (`Authorization: Bearer <token>`); see `readClientToken` of `@codio/auth`. */
  token?: string
}

/**
 * A typed client of a process's admin API at `baseUrl` (e.g. `http://127.0.0.1:7101`, or
 * `https://…` for a TLS listener: the server's certificate must chain to a CA Node trusts,
 * e.g. through `NODE_EXTRA_CA_CERTS`).
 */
export function createAdminClient (baseUrl: string, options: AdminClientOptions = {}): Client<typeof AdminService> {
  return createClient(AdminService, createConnectTransport({
    baseUrl,
    httpVersion: '1.1',
    interceptors: options.token == null ? [] : [bearerInterceptor(options.token)]
  }))
}
