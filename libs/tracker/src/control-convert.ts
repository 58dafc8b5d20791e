import { create } from '@bufbuild/protobuf'
import { control } from '@codio/proto'
import type { ClusterConfigDoc, ClusterState, FleetBan, JobNodeProgress, JobStateName, PreheatJob } from './control-types.js'

const { JobState } = control

const STATE_TO_PROTO: Record<JobStateName, control.JobState> = {
  pending: JobState.PENDING,
  running: JobState.RUNNING,
  succeeded: JobState.SUCCEEDED,
  failed: JobState.FAILED
}

/** JobState of the wire; UNSPECIFIED (or unknown) → undefined. */
export function jobStateFromProto (s: control.JobState): JobStateName | undefined {
  switch (s) {
    case JobState.PENDING: return 'pending'
    case JobState.RUNNING: return 'running'
    case JobState.SUCCEEDED: return 'succeeded'
    case JobState.FAILED: return 'failed'
    default: return undefined
  }
}

export const jobStateToProto = (s: JobStateName): control.JobState => STATE_TO_PROTO[s]

export function clusterConfigToProto (c: ClusterConfigDoc): control.ClusterConfig {
  return create(control.ClusterConfigSchema, { role: c.role, version: BigInt(c.version), config: c.config, updatedMs: BigInt(c.updatedMs) })
}

export function clusterConfigFromProto (c: control.ClusterConfig | undefined, role = ''): ClusterConfigDoc {
  return { role: c?.role ?? role, version: Number(c?.version ?? 0n), config: c?.config ?? {}, updatedMs: Number(c?.updatedMs ?? 0n) }
}

export function banToProto (b: FleetBan): control.Ban {
  return create(control.BanSchema, { peerId: b.peerId, reason: b.reason, createdMs: BigInt(b.createdMs), expiresMs: BigInt(b.expiresMs) })
}

export function banFromProto (b: control.Ban): FleetBan {
  return { peerId: b.peerId, reason: b.reason, createdMs: Number(b.createdMs), expiresMs: Number(b.expiresMs) }
}

export function clusterStateToProto (s: ClusterState): control.ClusterState {
  return create(control.ClusterStateSchema, { config: clusterConfigToProto(s.config), bans: s.bans.map(banToProto), trustedKeys: s.trustedKeys, revokedKeys: s.revokedKeys })
}

export function clusterStateFromProto (s: control.ClusterState, role = ''): ClusterState {
  return { config: clusterConfigFromProto(s.config, role), bans: s.bans.map(banFromProto), trustedKeys: [...s.trustedKeys], revokedKeys: [...s.revokedKeys] }
}

export function jobNodeToProto (n: JobNodeProgress): control.JobNodeProgress {
  return create(control.JobNodeProgressSchema, {
    peerId: n.peerId,
    state: jobStateToProto(n.state),
    contentsDone: n.contentsDone,
    contentsTotal: n.contentsTotal,
    bytesDone: BigInt(n.bytesDone),
    error: n.error,
    updatedMs: BigInt(n.updatedMs)
  })
}

export function jobToProto (j: PreheatJob): control.Job {
  return create(control.JobSchema, {
    id: j.id,
    type: j.type,
    contentIds: j.contentIds,
    role: j.role,
    peerIds: j.peerIds,
    state: jobStateToProto(j.state),
    createdMs: BigInt(j.createdMs),
    nodes: j.nodes.map(jobNodeToProto)
  })
}

export function jobFromProto (j: control.Job): PreheatJob {
  return {
    id: j.id,
    type: 'preheat',
    contentIds: [...j.contentIds],
    role: j.role,
    peerIds: [...j.peerIds],
    state: jobStateFromProto(j.state) ?? 'pending',
    createdMs: Number(j.createdMs),
    nodes: j.nodes.map(n => ({
      peerId: n.peerId,
      state: jobStateFromProto(n.state) ?? 'pending',
      contentsDone: n.contentsDone,
      contentsTotal: n.contentsTotal,
      bytesDone: Number(n.bytesDone),
      error: n.error,
      updatedMs: Number(n.updatedMs)
    }))
  }
}
