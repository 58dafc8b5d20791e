import { DEFAULT_LOAD_HALF, EXPLORATION_FLOOR, MAX_EXCLUDE, MAX_SELECT_COUNT } from './constants.js'
import { InvalidRequestError } from './errors.js'
import { isContentId, isPeerId } from './ids.js'
import { downloadSpeed, reputation } from './scoring.js'
import type { SelectRequest } from './types.js'

/** What the store knows of one online, unbanned holder of the requested content. */
export interface HolderState {
  readonly peerId: string
  readonly multiaddrs: string[]
  /** Seconds the tracker has been hearing from it (last gossip applied − first), not its claim. */
  observedUptimeSeconds: number
  /** Chunk requests it says it failed (may only lower its reputation). */
  chunksFailed: number
  observedSuccesses: number
  observedFailures: number
  /** Newest first, bytes/s. */
  readonly speedSamples: number[]
  chunkCount: number
  haveCount: number
  /** Hand-outs in the current load window. */
  load: number
}

/** A holder with its computed figures, in ranking order. */
export interface RankedHolder extends HolderState {
  reputation: number
  downloadSpeedBps: number
  score: number
}

/**
 * 32-bit FNV-1a of a string's UTF-16 code units: a cheap, stable hash so that every replica
 * breaks ties between equally scored peers the same way, and different requesters see
 * different orders among them (which spreads them over the tied peers).
 */
export function tieBreak (requester: string, peerId: string): number {
  let h = 0x811c9dc5
  const s = `${requester}\n${peerId}`
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/**
 * The ranking score of a holder:
 *
 *   max(reputation, 0.05) × (0.5 + 0.5 × haveCount / chunkCount) ÷ (1 + load / loadHalf)
 *
 * Reputation comes first; a partial holder counts for less (down to half) than a complete one;
 * each recent hand-out lowers the score so successive requests spread over the good peers
 * (a peer handed out `loadHalf` times in the window ranks at half its score). The 0.05 floor
 * keeps every peer in reach once the others are loaded. Reputation rests on what other peers
 * observed ({@link reputation}), so made-up peers claiming huge counters rank as newcomers.
 */
export function holderScore (rep: number, haveCount: number, chunkCount: number, load: number, loadHalf = DEFAULT_LOAD_HALF): number {
  const coverage = chunkCount > 0 ? Math.min(1, haveCount / chunkCount) : 0
  return Math.max(rep, EXPLORATION_FLOOR) * (0.5 + 0.5 * coverage) / (1 + load / loadHalf)
}

/**
 * Rank `holders` and keep the best `count`, leaving out `exclude` and the requester.
 * Ordering: score descending, then {@link tieBreak}(requester, peer) ascending, then peer ID —
 * a pure function of its inputs, so replicas reading the same store state agree.
 * The caller has already removed offline and banned peers.
 */
export function rankHolders (holders: readonly HolderState[], request: { count: number, exclude?: readonly string[], requesterPeerId?: string }, loadHalf = DEFAULT_LOAD_HALF): RankedHolder[] {
  const requester = request.requesterPeerId ?? ''
  const skip = new Set(request.exclude ?? [])
  if (requester !== '') skip.add(requester)
  const scored: Array<{ h: HolderState, rep: number, score: number, tie: number }> = []
  for (const h of holders) {
    if (skip.has(h.peerId)) continue
    const rep = reputation(h)
    scored.push({ h, rep, score: holderScore(rep, h.haveCount, h.chunkCount, h.load, loadHalf), tie: tieBreak(requester, h.peerId) })
  }
  scored.sort((a, b) => b.score - a.score || a.tie - b.tie || (a.h.peerId < b.h.peerId ? -1 : a.h.peerId > b.h.peerId ? 1 : 0))
  // only the chosen few get their addresses and speed worked out
  return scored.slice(0, request.count).map(({ h, rep, score }) => ({
    peerId: h.peerId,
    multiaddrs: h.multiaddrs,
    observedUptimeSeconds: h.observedUptimeSeconds,
    chunksFailed: h.chunksFailed,
    observedSuccesses: h.observedSuccesses,
    observedFailures: h.observedFailures,
    speedSamples: h.speedSamples,
    chunkCount: h.chunkCount,
    haveCount: h.haveCount,
    load: h.load,
    reputation: rep,
    downloadSpeedBps: downloadSpeed(h.speedSamples),
    score
  }))
}

/**
 * Check SelectPeers arguments.
 *
 * @throws InvalidRequestError for an empty or malformed content ID, a count outside
 *   [1, {@link MAX_SELECT_COUNT}], more than 1000 excluded peers, or a malformed peer ID
 */
export function validateSelectRequest (req: SelectRequest): Required<SelectRequest> {
  if (req.contentId === '') throw new InvalidRequestError('content ID is empty')
  if (!isContentId(req.contentId)) throw new InvalidRequestError(`content ID ${JSON.stringify(req.contentId.slice(0, 80))} is not a CID`)
  if (!Number.isInteger(req.count) || req.count < 1 || req.count > MAX_SELECT_COUNT) throw new InvalidRequestError(`count must be 1..${MAX_SELECT_COUNT}, got ${req.count}`)
  const exclude = req.exclude ?? []
  if (exclude.length > MAX_EXCLUDE) throw new InvalidRequestError(`at most ${MAX_EXCLUDE} excluded peers, got ${exclude.length}`)
  for (const p of exclude) if (!isPeerId(p)) throw new InvalidRequestError(`excluded peer ${JSON.stringify(p.slice(0, 80))} is not a peer ID`)
  const requesterPeerId = req.requesterPeerId ?? ''
  if (requesterPeerId !== '' && !isPeerId(requesterPeerId)) throw new InvalidRequestError(`requester ${JSON.stringify(requesterPeerId.slice(0, 80))} is not a peer ID`)
  return { contentId: req.contentId, count: req.count, exclude, requesterPeerId }
}
