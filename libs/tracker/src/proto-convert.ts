import { create } from '@bufbuild/protobuf'
import {
  AvailabilityEntrySchema, GetPeerMetricsResponseSchema, PeerCandidateSchema, Reliability as ReliabilityProto,
  type AvailabilityEntry as AvailabilityEntryProto, type GetPeerMetricsResponse, type PeerCandidate
} from '@codio/proto'
import type { Reliability } from './scoring.js'
import type { AvailabilityEntry, PeerMetrics, SelectedPeer } from './types.js'

const RELIABILITY: Record<Reliability, ReliabilityProto> = {
  reliable: ReliabilityProto.RELIABLE,
  neutral: ReliabilityProto.NEUTRAL,
  unreliable: ReliabilityProto.UNRELIABLE
}

function reliabilityFromProto (r: ReliabilityProto): Reliability {
  return r === ReliabilityProto.RELIABLE ? 'reliable' : r === ReliabilityProto.UNRELIABLE ? 'unreliable' : 'neutral'
}

/** `SelectedPeer` → `codio.tracker.v1.PeerCandidate`. */
export function peerCandidateToProto (p: SelectedPeer): PeerCandidate {
  return create(PeerCandidateSchema, { ...p })
}

/** `codio.tracker.v1.PeerCandidate` → `SelectedPeer`. */
export function peerCandidateFromProto (p: PeerCandidate): SelectedPeer {
  return {
    peerId: p.peerId,
    multiaddrs: p.multiaddrs,
    reputation: p.reputation,
    downloadSpeedBps: p.downloadSpeedBps,
    chunkCount: p.chunkCount,
    haveCount: p.haveCount,
    complete: p.complete,
    bitfield: p.bitfield,
    load: p.load,
    score: p.score
  }
}

/** `PeerMetrics` → `codio.tracker.v1.GetPeerMetricsResponse`. */
export function peerMetricsToProto (m: PeerMetrics): GetPeerMetricsResponse {
  return create(GetPeerMetricsResponseSchema, {
    ...m,
    lastSeenMs: BigInt(m.lastSeenMs),
    chunksServed: BigInt(m.chunksServed),
    chunksFailed: BigInt(m.chunksFailed),
    bytesServed: BigInt(m.bytesServed),
    observedSuccesses: BigInt(m.observedSuccesses),
    observedFailures: BigInt(m.observedFailures),
    reliability: RELIABILITY[m.reliability]
  })
}

/** `codio.tracker.v1.GetPeerMetricsResponse` → `PeerMetrics`. */
export function peerMetricsFromProto (m: GetPeerMetricsResponse): PeerMetrics {
  return {
    peerId: m.peerId,
    multiaddrs: m.multiaddrs,
    roles: m.roles,
    online: m.online,
    lastSeenMs: Number(m.lastSeenMs),
    uptimeSeconds: m.uptimeSeconds,
    chunksServed: Number(m.chunksServed),
    chunksFailed: Number(m.chunksFailed),
    bytesServed: Number(m.bytesServed),
    observedSuccesses: Number(m.observedSuccesses),
    observedFailures: Number(m.observedFailures),
    downloadSpeedBps: m.downloadSpeedBps,
    speedSamples: m.speedSamples,
    reputation: m.reputation,
    reliability: reliabilityFromProto(m.reliability),
    banned: m.banned,
    load: m.load,
    contentCount: m.contentCount
  }
}

/** `AvailabilityEntry` → `codio.tracker.v1.AvailabilityEntry`. */
export function availabilityEntryToProto (e: AvailabilityEntry): AvailabilityEntryProto {
  return create(AvailabilityEntrySchema, { ...e, lastSeenMs: BigInt(e.lastSeenMs) })
}

/** `codio.tracker.v1.AvailabilityEntry` → `AvailabilityEntry`. */
export function availabilityEntryFromProto (e: AvailabilityEntryProto): AvailabilityEntry {
  return {
    peerId: e.peerId,
    contentId: e.contentId,
    chunkCount: e.chunkCount,
    haveCount: e.haveCount,
    complete: e.complete,
    bitfield: e.bitfield,
    lastSeenMs: Number(e.lastSeenMs),
    online: e.online
  }
}
