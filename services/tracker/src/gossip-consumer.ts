import type { Msg, NatsConnection } from 'nats'
import { decodeGossip, GOSSIP_SIGNATURE_HEADER, gossipWildcard, parseGossipSubject, verifyGossip, type Gossip, type TrackerStore } from '@codio/tracker'
import type { Logger } from '@codio/telemetry'
import type { TrackerMetrics } from './metrics.js'
import { extractHeaders, SpanKind, tracer, withSpan } from '@codio/tracing'

const consumerTracer = tracer('@codio/tracker-service')

export interface GossipConsumerInit {
  nc: NatsConnection
  store: TrackerStore
  /** Default subjects: `codio.gossip.>`. */
  subjectPrefix: string
  /** NATS queue group shared by replicas; '' = every replica gets every message. */
  queueGroup: string
  /** Messages applied to Redis at once. */
  concurrency: number
  /** Larger messages are refused unread, bytes. */
  maxMessageBytes: number
  /** Bytes of messages decoded and not yet applied at once (besides `concurrency`): bounds memory under a flood of large messages. */
  maxInflightBytes: number
  /** Messages taken per peer within `rateWindowMs`. */
  maxMessagesPerPeer: number
  rateWindowMs: number
  /** Peers whose rate is tracked at once (the store's peer limit); a new one past it is refused. */
  maxPeers: number
  metrics: TrackerMetrics
  log: Logger
}

export interface GossipConsumer {
  /** Unsubscribe (draining what the server already sent) and wait for applies in flight. */
  stop(): Promise<void>
}

/** Log at most once per `ms` (Redis down means one failure per message). */
function throttled (ms: number): (fn: () => void) => void {
  let last = 0
  return (fn) => {
    const now = Date.now()
    if (now - last < ms) return
    last = now
    fn()
  }
}

/**
 * Messages per peer in fixed windows of `windowMs`: `take(peer)` is false once the peer has
 * `max` in the current window, or when `maxPeers` other peers already sent in it (the map is
 * bounded whatever the number of made-up peer IDs).
 */
function rateLimiter (max: number, windowMs: number, maxPeers: number): (peer: string) => boolean {
  let counts = new Map<string, number>()
  let start = Date.now()
  return (peer) => {
    const now = Date.now()
    if (now - start >= windowMs) {
      counts = new Map()
      start = now
    }
    const n = counts.get(peer)
    if (n === undefined && counts.size >= maxPeers) return false
    if ((n ?? 0) >= max) return false
    counts.set(peer, (n ?? 0) + 1)
    return true
  }
}

/**
 * Subscribe to `<prefix>.>` and apply every gossip message to the store, up to `concurrency`
 * at once. A malformed message (undecodable, invalid, or on the wrong subject) is dropped and
 * counted in `codio_tracker_gossip_malformed_total`; one without a valid signature of the peer
 * it names (header `Codio-Signature`, the sender's libp2p key over subject and message) is
 * dropped and counted in `codio_tracker_gossip_unauthenticated_total`, so nobody can speak for
 * another peer (what a node says of itself is still its own claim); a message Redis does not take is counted
 * in `codio_tracker_gossip_apply_failures_total` (the sender repeats its full state every
 * interval, so nothing is retried). Nothing here throws: the loop carries on.
 *
 * Limits, each refusal counted in `codio_tracker_gossip_refused_total{kind,reason}`: a message
 * over `maxMessageBytes` is refused unread (`size`); a validly signed peer past
 * `maxMessagesPerPeer` in `rateWindowMs` (`rate`: counted after the signature check, so nobody
 * can spend another peer's budget); then the store's (`future` timestamp, `peers` tracked, see
 * TrackerStore). Entries left out of a message otherwise taken are counted in
 * `codio_tracker_gossip_entries_dropped_total{kind,reason}` (`invalid` entries, `contents` past
 * the peer's limit, `observations` of unknown peers).
 *
 * The subscription survives NATS restarts: nats.js resubscribes on reconnect.
 */
export function consumeGossip (init: GossipConsumerInit): GossipConsumer {
  const { store, metrics, log, subjectPrefix: prefix } = init
  const sub = init.nc.subscribe(gossipWildcard(prefix), init.queueGroup === '' ? {} : { queue: init.queueGroup })
  const inflight = new Set<Promise<void>>()
  let inflightBytes = 0
  const warn = throttled(5000)
  const take = rateLimiter(init.maxMessagesPerPeer, init.rateWindowMs, init.maxPeers)

  async function apply (g: Gossip, m: Msg): Promise<void> {
    const kind = g.kind
    if (!await verifyGossip(g.update.peerId, m.subject, m.data, m.headers?.get(GOSSIP_SIGNATURE_HEADER))) {
      metrics.gossipUnauthenticated.inc({ kind })
      log.debug({ subject: m.subject.slice(0, 200) }, 'unsigned or forged gossip dropped')
      return
    }
    if (!take(g.update.peerId)) {
      metrics.gossipRefused.inc({ kind, reason: 'rate' })
      return
    }
    try {
      const r = g.kind === 'availability' ? await store.applyAvailability(g.update) : await store.applyMetrics(g.update)
      const invalid = g.kind === 'availability' ? g.update.droppedContents ?? 0 : 0
      if (invalid > 0) metrics.gossipEntriesDropped.inc({ kind, reason: 'invalid' }, invalid)
      if (r.droppedContents > 0) metrics.gossipEntriesDropped.inc({ kind, reason: 'contents' }, r.droppedContents)
      if (r.droppedObservations > 0) metrics.gossipEntriesDropped.inc({ kind, reason: 'observations' }, r.droppedObservations)
      if (r.applied) metrics.gossipApplied.inc({ kind })
      else if (r.refused === 'stale') metrics.gossipStale.inc({ kind })
      else metrics.gossipRefused.inc({ kind, reason: r.refused ?? 'unknown' })
    } catch (err) {
      metrics.gossipApplyFailures.inc({ kind: g.kind })
      warn(() => log.warn({ err: (err as Error).message }, 'gossip not applied'))
    }
  }

  async function handle (m: Msg, kind: string): Promise<void> {
    // decode no more content entries than the sender may keep: a made-up peer's 1 MB snapshot
    // then costs the memory of its first few entries (the rest are skipped unread)
    const s = parseGossipSubject(m.subject, prefix)
    const limit = s?.kind === 'availability' ? await store.contentLimit(s.peerId).catch(() => undefined) : undefined
    let gossip: Gossip
    try {
      gossip = decodeGossip(m.subject, m.data, prefix, limit)
    } catch (err) {
      metrics.gossipMalformed.inc({ kind })
      log.debug({ subject: m.subject.slice(0, 200), err: (err as Error).message }, 'malformed gossip dropped')
      return
    }
    await apply(gossip, m)
  }

  const loop = (async () => {
    for await (const m of sub) {
      const kind = parseGossipSubject(m.subject, prefix)?.kind ?? 'unknown'
      metrics.gossipReceived.inc({ kind })
      if (m.data.length > init.maxMessageBytes) {
        metrics.gossipRefused.inc({ kind, reason: 'size' })
        continue
      }
      while (inflight.size >= init.concurrency || (inflight.size > 0 && inflightBytes + m.data.length > init.maxInflightBytes)) await Promise.race(inflight)
      const size = m.data.length
      inflightBytes += size
      // a CONSUMER span, child of the publisher's (traceparent in the headers; a malformed one is ignored)
      const p: Promise<void> = withSpan(consumerTracer, `process codio.gossip.${kind}`, {
        kind: SpanKind.CONSUMER,
        attributes: { 'messaging.system': 'nats', 'messaging.operation.type': 'process', 'messaging.destination.name': m.subject.slice(0, 200), 'messaging.message.body.size': size }
      }, async () => { await handle(m, kind) }, extractHeaders(m.headers)).finally(() => { inflight.delete(p); inflightBytes -= size })
      inflight.add(p)
    }
  })().catch((err: Error) => log.error({ err: err.message }, 'gossip subscription ended'))

  return {
    async stop () {
      if (!sub.isClosed()) {
        await Promise.race([sub.drain().catch(() => {}), new Promise(resolve => setTimeout(resolve, 2000).unref())])
        if (!sub.isClosed()) sub.unsubscribe()
      }
      await loop
      await Promise.all(inflight)
    }
  }
}
