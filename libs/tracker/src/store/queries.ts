import { PeerNotFoundError, InvalidRequestError } from '../errors.js'
import { isContentId, isPeerId } from '../ids.js'
import { downloadSpeed, isOnline, reliability, reputation } from '../scoring.js'
import type { AvailabilityEntry, AvailabilityQuery, PeerMetrics } from '../types.js'
import { pipelineResults, storeCall, type StoreContext } from './context.js'
import { parseCounts } from './keys.js'
import { splitList } from './select.js'

const num = (s: string | null | undefined): number => {
  const n = Number(s ?? '')
  return s == null || s === '' || !Number.isFinite(n) ? 0 : n
}

/**
 * Everything the store knows of `peerId`, with reputation and reliability computed now.
 *
 * @throws InvalidRequestError for a malformed peer ID
 * @throws PeerNotFoundError when there is no record of it (never seen, or expired)
 * @throws StoreUnavailableError when Redis does not answer
 */
export async function getPeerMetrics (ctx: StoreContext, peerId: string): Promise<PeerMetrics> {
  if (!isPeerId(peerId)) throw new InvalidRequestError(peerId === '' ? 'peer ID is empty' : `${JSON.stringify(peerId.slice(0, 80))} is not a peer ID`)
  const { keys } = ctx
  const [fields, banned, load, contents, fleetBan] = pipelineResults('get peer metrics', await storeCall('get peer metrics', async () => ctx.redis.pipeline()
    .hmget(keys.peer(peerId), 'addrs', 'roles', 'seen', 'uptime', 'served', 'failed', 'bytes', '_s', '_f', '_v', 'first')
    .sismember(keys.banned, peerId)
    .get(keys.load(peerId))
    .scard(keys.contentsOf(peerId))
    .zscore(keys.fleetBans, peerId)
    .exec())) as [Array<string | null>, number, string | null, number, string | null]
  if (fields.every(v => v === null)) throw new PeerNotFoundError(`no record of peer ${peerId}`)
  const [addrs, roles, seen, uptime, served, failed, bytes, observedSuccesses, observedFailures, speeds, first] = fields
  const samples = splitList(speeds ?? '', ',').map(Number).filter(Number.isFinite)
  const lastSeenMs = num(seen)
  const input = {
    observedUptimeSeconds: first == null || seen == null ? 0 : Math.max(0, (lastSeenMs - num(first)) / 1000),
    chunksFailed: num(failed),
    // sums of floats (scaled observer shares): round off the drift
    observedSuccesses: Math.max(0, Math.round(num(observedSuccesses) * 1e6) / 1e6),
    observedFailures: Math.max(0, Math.round(num(observedFailures) * 1e6) / 1e6)
  }
  const rep = reputation(input)
  return {
    peerId,
    multiaddrs: splitList(addrs ?? '', '\n'),
    roles: splitList(roles ?? '', ','),
    online: isOnline(lastSeenMs, ctx.now(), ctx.peerTimeoutMs),
    lastSeenMs,
    uptimeSeconds: num(uptime),
    chunksServed: num(served),
    ...input,
    bytesServed: num(bytes),
    downloadSpeedBps: downloadSpeed(samples),
    speedSamples: samples.length,
    reputation: rep,
    reliability: reliability(rep),
    banned: banned === 1 || (fleetBan !== null && (fleetBan === 'inf' || Number(fleetBan) > ctx.now())),
    load: num(load),
    contentCount: contents
  }
}

function entry (peerId: string, contentId: string, counts: string | null | undefined, bitfield: Buffer | null | undefined, seen: string | null, now: number, timeout: number): AvailabilityEntry | undefined {
  const c = parseCounts(counts)
  if (c === undefined) return undefined
  const complete = c.haveCount === c.chunkCount
  const lastSeenMs = num(seen)
  return { peerId, contentId, ...c, complete, bitfield: complete || bitfield == null ? new Uint8Array(0) : new Uint8Array(bitfield), lastSeenMs, online: isOnline(lastSeenMs, now, timeout) }
}

/**
 * ListAvailability: the holders of a content ID (sorted by peer ID) or the contents a peer
 * holds (sorted by content ID), online ones only unless `includeOffline`.
 *
 * @throws InvalidRequestError unless exactly one well-formed key is given
 * @throws StoreUnavailableError when Redis does not answer
 */
export async function listAvailability (ctx: StoreContext, query: AvailabilityQuery): Promise<AvailabilityEntry[]> {
  const { keys } = ctx
  const now = ctx.now()
  const keep = (e: AvailabilityEntry | undefined): e is AvailabilityEntry => e !== undefined && (query.includeOffline === true || e.online)
  if ((query.contentId === undefined) === (query.peerId === undefined)) throw new InvalidRequestError('give exactly one of content ID and peer ID')
  if (query.contentId !== undefined) {
    const cid = query.contentId
    if (!isContentId(cid)) throw new InvalidRequestError(cid === '' ? 'content ID is empty' : `${JSON.stringify(cid.slice(0, 80))} is not a CID`)
    const [scored, counts, bitfields] = pipelineResults('list availability', await storeCall('list availability', async () => ctx.redis.pipeline()
      .zrange(keys.holders(cid), 0, -1, 'WITHSCORES')
      .hgetall(keys.counts(cid))
      .hgetallBuffer(keys.bitfields(cid))
      .exec())) as [string[], Record<string, string>, Record<string, Buffer>]
    const out: Array<AvailabilityEntry | undefined> = []
    for (let i = 0; i + 1 < scored.length; i += 2) out.push(entry(scored[i], cid, counts[scored[i]], bitfields[scored[i]], scored[i + 1], now, ctx.peerTimeoutMs))
    return out.filter(keep).sort((a, b) => a.peerId < b.peerId ? -1 : 1)
  }
  const peerId = query.peerId as string
  if (!isPeerId(peerId)) throw new InvalidRequestError(peerId === '' ? 'peer ID is empty' : `${JSON.stringify(peerId.slice(0, 80))} is not a peer ID`)
  const cids = (await storeCall('list availability', async () => ctx.redis.smembers(keys.contentsOf(peerId)))).sort()
  if (cids.length === 0) return []
  const pipe = ctx.redis.pipeline()
  for (const cid of cids) pipe.hget(keys.counts(cid), peerId).hgetBuffer(keys.bitfields(cid), peerId).zscore(keys.holders(cid), peerId)
  const r = pipelineResults('list availability', await storeCall('list availability', async () => pipe.exec()))
  return cids.map((cid, i) => entry(peerId, cid, r[3 * i] as string | null, r[3 * i + 1] as Buffer | null, r[3 * i + 2] as string | null, now, ctx.peerTimeoutMs)).filter(keep)
}
