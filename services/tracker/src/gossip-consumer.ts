import type { Msg, NatsConnection } from 'nats'
import { decodeGossip, GOSSIP_SIGNATURE_HEADER, gossipWildcard, parseGossipSubject, verifyGossip, type Gossip, type TrackerStore } from '@codio/tracker'
import type { Logger } from '@codio/telemetry'
import type { TrackerMetrics } from './metrics.js'

export interface GossipConsumerInit {
  nc: NatsConnection
  store: TrackerStore
  /** Default subjects: `codio.gossip.>`. */
  subjectPrefix: string
  /** NATS queue group shared by replicas; '' = every replica gets every message. */
  queueGroup: string
  /** Messages applied to Redis at once. */
  concurrency: number
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
 * Subscribe to `<prefix>.>` and apply every gossip message to the store, up to `concurrency`
 * at once. A malformed message (undecodable, invalid, or on the wrong subject) is dropped and
 * counted in `codio_tracker_gossip_malformed_total`; one without a valid signature of the peer
 * it names (header `Codio-Signature`, the sender's libp2p key over subject and message) is
 * dropped and counted in `codio_tracker_gossip_unauthenticated_total`, so nobody can speak for
 * another peer (what a node says of itself is still its own claim); a message Redis does not take is counted
 * in `codio_tracker_gossip_apply_failures_total` (the sender repeats its full state every
 * interval, so nothing is retried). Nothing here throws: the loop carries on.
 *
 * The subscription survives NATS restarts: nats.js resubscribes on reconnect.
 */
export function consumeGossip (init: GossipConsumerInit): GossipConsumer {
  const { store, metrics, log, subjectPrefix: prefix } = init
  const sub = init.nc.subscribe(gossipWildcard(prefix), init.queueGroup === '' ? {} : { queue: init.queueGroup })
  const inflight = new Set<Promise<void>>()
  const warn = throttled(5000)

  async function apply (g: Gossip, m: Msg): Promise<void> {
    if (!await verifyGossip(g.update.peerId, m.subject, m.data, m.headers?.get(GOSSIP_SIGNATURE_HEADER))) {
      metrics.gossipUnauthenticated.inc({ kind: g.kind })
      log.debug({ subject: m.subject.slice(0, 200) }, 'unsigned or forged gossip dropped')
      return
    }
    try {
      const fresh = g.kind === 'availability' ? await store.applyAvailability(g.update) : await store.applyMetrics(g.update)
      if (fresh) metrics.gossipApplied.inc({ kind: g.kind })
      else metrics.gossipStale.inc({ kind: g.kind })
    } catch (err) {
      metrics.gossipApplyFailures.inc({ kind: g.kind })
      warn(() => log.warn({ err: (err as Error).message }, 'gossip not applied'))
    }
  }

  const loop = (async () => {
    for await (const m of sub) {
      const kind = parseGossipSubject(m.subject, prefix)?.kind ?? 'unknown'
      metrics.gossipReceived.inc({ kind })
      let gossip: Gossip
      try {
        gossip = decodeGossip(m.subject, m.data, prefix)
      } catch (err) {
        metrics.gossipMalformed.inc({ kind })
        log.debug({ subject: m.subject.slice(0, 200), err: (err as Error).message }, 'malformed gossip dropped')
        continue
      }
      while (inflight.size >= init.concurrency) await Promise.race(inflight)
      const p: Promise<void> = apply(gossip, m).finally(() => inflight.delete(p))
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
