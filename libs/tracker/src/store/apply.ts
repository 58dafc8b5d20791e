import { SPEED_SAMPLES } from '../constants.js'
import type { AvailabilityUpdate, MetricsUpdate } from '../types.js'
import { storeCall, type StoreContext } from './context.js'

/**
 * Apply an availability snapshot: the peer's record, its multiaddrs and roles, and for each
 * content its place among the holders and its bitfield; contents missing from the snapshot are
 * withdrawn. Every key touched gets the peer timeout as expiry. One atomic script, one round trip.
 *
 * @returns false when the message is older than one already applied for this peer (ignored)
 * @throws StoreUnavailableError, StoreError
 */
export async function applyAvailability (ctx: StoreContext, u: AvailabilityUpdate): Promise<boolean> {
  const args: Array<string | Buffer> = [
    ctx.prefix, u.peerId, String(ctx.now()), String(ctx.peerTimeoutMs), String(u.timestampMs), String(u.sequence),
    u.multiaddrs.join('\n'), u.roles.join(',')
  ]
  for (const c of u.contents) args.push(c.contentId, `${c.chunkCount}:${c.haveCount}`, c.complete ? '' : Buffer.from(c.bitfield.buffer, c.bitfield.byteOffset, c.bitfield.byteLength))
  return await storeCall('apply availability', async () => ctx.run('codioTrackerApplyAvailability', args)) === 1
}

/**
 * Apply a metrics report: the peer's own counters and uptime, and each observation of another
 * peer (its cumulative successes and failures, and its speed measurement, kept as the last 10).
 *
 * @returns false when the message is older than one already applied for this peer (ignored)
 * @throws StoreUnavailableError, StoreError
 */
export async function applyMetrics (ctx: StoreContext, u: MetricsUpdate): Promise<boolean> {
  const args: string[] = [
    ctx.prefix, u.peerId, String(ctx.now()), String(ctx.peerTimeoutMs), String(u.timestampMs), String(u.sequence),
    String(u.uptimeSeconds), String(u.chunksServed), String(u.chunksFailed), String(u.bytesServed), String(SPEED_SAMPLES)
  ]
  for (const o of u.observations) args.push(o.peerId, String(o.bytesPerSecond), String(o.failures), String(o.successes))
  return await storeCall('apply metrics', async () => ctx.run('codioTrackerApplyMetrics', args)) === 1
}
