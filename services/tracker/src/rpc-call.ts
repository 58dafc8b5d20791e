import { Code, type ConnectError } from '@connectrpc/connect'
import type { Logger } from '@codio/telemetry'
import type { TrackerMetrics } from './metrics.js'

/**
 * The wrapper every tracker RPC handler runs in: times the call (`codio_tracker_rpc_duration_seconds`),
 * counts it by method and result code (`codio_tracker_rpc_requests_total`), turns a thrown value
 * into a ConnectError with `toError`, and logs the Internal ones.
 */
export function rpcCall (metrics: TrackerMetrics, log: Logger, toError: (err: unknown) => ConnectError) {
  return async function handle<T> (method: string, fn: () => Promise<T>): Promise<T> {
    const end = metrics.rpcDuration.startTimer({ method })
    try {
      const out = await fn()
      metrics.rpcRequests.inc({ method, code: 'ok' })
      return out
    } catch (err) {
      const ce = toError(err)
      metrics.rpcRequests.inc({ method, code: Code[ce.code] })
      if (ce.code === Code.Internal) log.error({ method, err: ce.message }, 'rpc failed')
      throw ce
    } finally {
      end()
    }
  }
}
