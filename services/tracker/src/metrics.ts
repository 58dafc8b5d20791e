import { Counter, Histogram, type Registry } from '@codio/telemetry'

/** The tracker's Prometheus series (`codio_tracker_*`). */
export interface TrackerMetrics {
  /** `kind` = availability | metrics | unknown */
  gossipReceived: Counter<'kind'>
  gossipApplied: Counter<'kind'>
  gossipStale: Counter<'kind'>
  gossipMalformed: Counter<'kind'>
  gossipUnauthenticated: Counter<'kind'>
  gossipApplyFailures: Counter<'kind'>
  /** Messages refused by a limit: `reason` = size | rate | future | peers */
  gossipRefused: Counter<'kind' | 'reason'>
  /** Entries left out of messages otherwise taken: `reason` = invalid (bad content entry) | contents (past the peer's limit) | observations (of a peer the tracker does not know) */
  gossipEntriesDropped: Counter<'kind' | 'reason'>
  /** `method` = SelectPeers | GetPeerMetrics | ListAvailability, `code` = ok or a Connect code name */
  rpcRequests: Counter<'method' | 'code'>
  rpcDuration: Histogram<'method'>
}

export function trackerMetrics (registry: Registry): TrackerMetrics {
  const registers = [registry]
  const metrics: TrackerMetrics = {
    gossipReceived: new Counter({ name: 'codio_tracker_gossip_received_total', help: 'Gossip messages received over NATS', labelNames: ['kind'], registers }),
    gossipApplied: new Counter({ name: 'codio_tracker_gossip_applied_total', help: 'Gossip messages applied to Redis', labelNames: ['kind'], registers }),
    gossipStale: new Counter({ name: 'codio_tracker_gossip_stale_total', help: 'Gossip messages ignored as older than one already applied', labelNames: ['kind'], registers }),
    gossipMalformed: new Counter({ name: 'codio_tracker_gossip_malformed_total', help: 'Gossip messages dropped as malformed', labelNames: ['kind'], registers }),
    gossipUnauthenticated: new Counter({ name: 'codio_tracker_gossip_unauthenticated_total', help: 'Gossip messages dropped because they carry no valid signature of the peer they name', labelNames: ['kind'], registers }),
    gossipApplyFailures: new Counter({ name: 'codio_tracker_gossip_apply_failures_total', help: 'Gossip messages lost because Redis did not take them', labelNames: ['kind'], registers }),
    gossipRefused: new Counter({ name: 'codio_tracker_gossip_refused_total', help: 'Gossip messages refused by a limit (size, rate, future timestamp, peers tracked)', labelNames: ['kind', 'reason'], registers }),
    gossipEntriesDropped: new Counter({ name: 'codio_tracker_gossip_entries_dropped_total', help: 'Entries left out of gossip messages otherwise taken (invalid, past the per-peer limit, unknown observed peer)', labelNames: ['kind', 'reason'], registers }),
    rpcRequests: new Counter({ name: 'codio_tracker_rpc_requests_total', help: 'TrackerService calls by method and result', labelNames: ['method', 'code'], registers }),
    rpcDuration: new Histogram({ name: 'codio_tracker_rpc_duration_seconds', help: 'TrackerService call latency', labelNames: ['method'], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers })
  }
  // the known kinds start at 0: a rate, a ratio or an alert has a series before the first message
  for (const kind of ['availability', 'metrics']) {
    for (const c of [metrics.gossipReceived, metrics.gossipApplied, metrics.gossipStale, metrics.gossipMalformed, metrics.gossipUnauthenticated, metrics.gossipApplyFailures]) c.inc({ kind }, 0)
  }
  return metrics
}
