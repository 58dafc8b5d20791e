import { DEFAULT_GOSSIP_INTERVAL_MS, MAX_OBSERVED_BYTES_PER_SECOND, MAX_OBSERVED_REQUESTS_PER_SECOND, MAX_OBSERVER_WEIGHT, SPEED_SAMPLES } from '../constants.js'
import type { ApplyResult, AvailabilityUpdate, MetricsUpdate } from '../types.js'
import { storeCall, type StoreContext } from './context.js'

function result (code: number, droppedContents: number, droppedObservations: number): ApplyResult {
  if (code === 1) return { applied: true, droppedContents, droppedObservations }
  return { applied: false, refused: code === 0 ? 'stale' : 'peers', droppedContents, droppedObservations }
}

/** The message's timestamp as ordered: capped at the tracker's clock; undefined when past the allowed skew. */
function orderTimestamp (ctx: StoreContext, timestampMs: number, now: number): number | undefined {
  if (timestampMs > now + ctx.limits.maxClockSkewMs) return undefined
  return Math.min(timestampMs, now)
}

/**
 * How many contents of `peerId` the store keeps: `maxContentsPerPeer`, or `maxContentsUnproven`
 * while no observer has reported a chunk received from it (one HGET).
 *
 * @throws StoreUnavailableError, StoreError
 */
export async function contentLimit (ctx: StoreContext, peerId: string): Promise<number> {
  const { maxContentsPerPeer, maxContentsUnproven } = ctx.limits
  const observed = await storeCall('content limit', async () => ctx.redis.hget(ctx.keys.peer(peerId), '_s'))
  return Number(observed ?? 0) > 0 ? maxContentsPerPeer : Math.min(maxContentsPerPeer, maxContentsUnproven)
}

/**
 * Apply an availability snapshot: the peer's record, its multiaddrs and roles, and for each
 * content its place among the holders and its bitfield; contents missing from the snapshot are
 * withdrawn. Every key touched gets the peer timeout as expiry. One atomic script, one round trip
 * (two when the snapshot is long enough for the unproven-peer limit to matter).
 *
 * Limits: a message timestamped past now + max clock skew is refused (`future`); the
 * timestamp is ordered capped at now, so one dated ahead within the skew never hides the
 * peer's next messages, and a later timestamp resets the sequence (a jump never locks a peer
 * out). A new peer is refused while the tracker keeps `maxPeers` (`peers`). Contents past
 * `maxContentsPerPeer`, or `maxContentsUnproven` while no observer has reported a chunk
 * received from the peer, are left out (`droppedContents`).
 *
 * @throws StoreUnavailableError, StoreError
 */
export async function applyAvailability (ctx: StoreContext, u: AvailabilityUpdate): Promise<ApplyResult> {
  const now = ctx.now()
  const ts = orderTimestamp(ctx, u.timestampMs, now)
  if (ts === undefined) return { applied: false, refused: 'future', droppedContents: 0, droppedObservations: 0 }
  let contents = u.contents
  const limit = contents.length > Math.min(ctx.limits.maxContentsUnproven, ctx.limits.maxContentsPerPeer) ? await contentLimit(ctx, u.peerId) : Infinity
  if (contents.length > limit) contents = contents.slice(0, limit)
  const args: Array<string | Buffer> = [
    ctx.prefix, u.peerId, String(now), String(ctx.peerTimeoutMs), String(ts), String(u.sequence),
    u.multiaddrs.join('\n'), u.roles.join(','), String(ctx.limits.maxPeers)
  ]
  for (const c of contents) args.push(c.contentId, `${c.chunkCount}:${c.haveCount}`, c.complete ? '' : Buffer.from(c.bitfield.buffer, c.bitfield.byteOffset, c.bitfield.byteLength))
  const code = Number(await storeCall('apply availability', async () => ctx.run('codioTrackerApplyAvailability', args)))
  return result(code, (u.skippedContents ?? 0) + u.contents.length - contents.length, 0)
}

/**
 * Apply a metrics report: the peer's own counters and uptime, and each observation of another
 * peer (its cumulative successes and failures, each observer's share bounded, and its speed
 * measurement, kept as the last 10); see APPLY_METRICS in scripts.ts for the bounds.
 * Observations of peers the tracker has no record of are left out (`droppedObservations`).
 * Refusals as for {@link applyAvailability} (`future`, `stale`, `peers`).
 *
 * @throws StoreUnavailableError, StoreError
 */
export async function applyMetrics (ctx: StoreContext, u: MetricsUpdate): Promise<ApplyResult> {
  const now = ctx.now()
  const ts = orderTimestamp(ctx, u.timestampMs, now)
  if (ts === undefined) return { applied: false, refused: 'future', droppedContents: 0, droppedObservations: 0 }
  const args: string[] = [
    ctx.prefix, u.peerId, String(now), String(ctx.peerTimeoutMs), String(ts), String(u.sequence),
    String(u.uptimeSeconds), String(u.chunksServed), String(u.chunksFailed), String(u.bytesServed), String(SPEED_SAMPLES),
    String(ctx.limits.maxPeers), String(MAX_OBSERVER_WEIGHT), String(MAX_OBSERVED_REQUESTS_PER_SECOND),
    String(DEFAULT_GOSSIP_INTERVAL_MS / 1000), String(MAX_OBSERVED_BYTES_PER_SECOND)
  ]
  for (const o of u.observations) args.push(o.peerId, String(o.bytesPerSecond), String(o.failures), String(o.successes))
  const [code, unknown] = await storeCall('apply metrics', async () => ctx.run('codioTrackerApplyMetrics', args)) as [number, number]
  return result(Number(code), 0, Number(unknown))
}
