import { rankHolders, validateSelectRequest, type HolderState } from '../selection.js'
import type { SelectedPeer, SelectRequest } from '../types.js'
import { pipelineResults, storeCall, type StoreContext } from './context.js'
import { parseCounts } from './keys.js'

const num = (s: string | undefined): number => {
  const n = Number(s)
  return s === undefined || s === '' || !Number.isFinite(n) ? 0 : n
}

export const splitList = (s: string, sep: string): string[] => s === '' ? [] : s.split(sep)

/** What the second read of SelectPeers returns for the holders, in their order. */
export type HoldersReply = [peers: string[], banned: string[], loads: Array<string | null>, records: Array<string | null>, counts: Record<string, string>]

/** A holder read from its ranking record; addresses and speed samples are parsed on first use (most holders are not chosen). */
class RecordedHolder implements HolderState {
  readonly observedUptimeSeconds: number
  readonly chunksFailed: number
  readonly observedSuccesses: number
  readonly observedFailures: number
  private readonly fields: string[]

  constructor (readonly peerId: string, record: string, readonly chunkCount: number, readonly haveCount: number, readonly load: number) {
    const f = record.split('\t')
    this.fields = f
    this.observedUptimeSeconds = num(f[1])
    this.chunksFailed = num(f[3])
    this.observedSuccesses = Math.max(0, num(f[4]))
    this.observedFailures = Math.max(0, num(f[5]))
  }

  get multiaddrs (): string[] { return splitList(this.fields[0] ?? '', '\n') }
  get speedSamples (): number[] { return splitList(this.fields[6] ?? '', ',').map(Number).filter(Number.isFinite) }
}

/** The holders' states; banned holders and holders without counts are left out. */
export function parseHolders ([peers, banned, loads, records, counts]: HoldersReply): HolderState[] {
  const skip = new Set(banned)
  const holders: HolderState[] = []
  for (let i = 0; i < peers.length; i++) {
    if (skip.has(peers[i])) continue
    const c = parseCounts(counts[peers[i]])
    if (c === undefined) continue
    holders.push(new RecordedHolder(peers[i], records[i] ?? '', c.chunkCount, c.haveCount, num(loads[i] ?? '')))
  }
  return holders
}

/**
 * SelectPeers against the store, in three round trips whatever the number of holders:
 * 1. the online holders: ZRANGEBYSCORE of `c:<cid>` from `now` − peer timeout;
 * 2. in one pipeline, for all of them: MGET load counters, MGET ranking records, HGETALL
 *    `n:<cid>`, SMEMBERS banned and the unexpired fleet bans (operators' short lists) — O(holders) in Redis, no
 *    per-holder round trip;
 * 3. after ranking them with {@link rankHolders}: one script that counts a hand-out of each
 *    chosen peer (shared by every replica) and returns their counts and bitfields.
 * Each write script is atomic, so every read sees whole updates; an update landing between the
 * reads is seen by the later read only (a holder that just left is skipped).
 *
 * @returns best first, at most `count`; empty when no one online holds the content
 * @throws InvalidRequestError for bad arguments (see validateSelectRequest)
 * @throws StoreUnavailableError when Redis does not answer
 */
export async function selectPeers (ctx: StoreContext, request: SelectRequest): Promise<SelectedPeer[]> {
  const req = validateSelectRequest(request)
  const oldest = ctx.now() - ctx.peerTimeoutMs
  const { keys, redis } = ctx
  const peers = await storeCall('select peers', async () => redis.zrangebyscore(keys.holders(req.contentId), oldest, '+inf'))
  if (peers.length === 0) return []
  const [banned, fleetBanned, loads, records, counts] = pipelineResults('select peers', await storeCall('select peers', async () => redis.pipeline()
    .smembers(keys.banned)
    .zrangebyscore(keys.fleetBans, `(${ctx.now()}`, '+inf')
    .mget(peers.map(keys.load))
    .mget(peers.map(keys.rankRecord))
    .hgetall(keys.counts(req.contentId))
    .exec())) as [string[], string[], Array<string | null>, Array<string | null>, Record<string, string>]
  const ranked = rankHolders(parseHolders([peers, [...banned, ...fleetBanned], loads, records, counts]), req, ctx.loadHalf)
  if (ranked.length === 0) return []
  const values = await storeCall('hand out peers', async () => ctx.runBuffer('codioTrackerHandOut', [ctx.prefix, req.contentId, String(ctx.loadWindowMs), ...ranked.map(p => p.peerId)])) as Buffer[]
  const out: SelectedPeer[] = []
  ranked.forEach((p, i) => {
    // re-read with the bitfield: the holding may have changed between the two scripts
    const counts = parseCounts(values[2 * i])
    if (counts === undefined) return
    const complete = counts.haveCount === counts.chunkCount
    out.push({
      peerId: p.peerId,
      multiaddrs: p.multiaddrs,
      reputation: p.reputation,
      downloadSpeedBps: p.downloadSpeedBps,
      ...counts,
      complete,
      bitfield: complete ? new Uint8Array(0) : new Uint8Array(values[2 * i + 1]),
      load: p.load,
      score: p.score
    })
  })
  return out
}
