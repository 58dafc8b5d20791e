import { AdminService } from '@codio/proto'
import { createClient, type Client } from '@connectrpc/connect'
import { createConnectTransport } from '@connectrpc/connect-node'

/** A typed client of a process's admin API at `baseUrl` (e.g. `http://127.0.0.1:7101`). */
export function createAdminClient (baseUrl: string): Client<typeof AdminService> {
  return createClient(AdminService, createConnectTransport({ baseUrl, httpVersion: '1.1' }))
}
