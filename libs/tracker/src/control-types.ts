import type { JsonObject } from '@bufbuild/protobuf'

/** A role's cluster configuration document as the tracker keeps it. */
export interface ClusterConfigDoc {
  role: string
  /** Increases by one per update; 0 = never set. */
  version: number
  /** The partial configuration (TOML shape) applied to every node of the role; `{}` when never set. */
  config: JsonObject
  /** Unix ms of the last update; 0 = never. */
  updatedMs: number
}

/** A fleet-wide ban of a peer. */
export interface FleetBan {
  peerId: string
  reason: string
  /** Unix ms. */
  createdMs: number
  /** Unix ms; 0 = until lifted. */
  expiresMs: number
}

/** What every node of a role applies, whole: see `ControlService.Watch`. */
export interface ClusterState {
  config: ClusterConfigDoc
  /** Active bans (expired ones left out), sorted by peer ID. */
  bans: FleetBan[]
  /** base64url Ed25519 public keys, sorted. */
  trustedKeys: string[]
  revokedKeys: string[]
}

export type JobStateName = 'pending' | 'running' | 'succeeded' | 'failed'

/** One node's part of a job. */
export interface JobNodeProgress {
  peerId: string
  state: JobStateName
  contentsDone: number
  contentsTotal: number
  bytesDone: number
  /** Why it failed, when it did; else "". */
  error: string
  /** Unix ms of the report; 0 for a targeted peer that has not reported. */
  updatedMs: number
}

/** A preheat job and its progress per node. */
export interface PreheatJob {
  id: string
  type: 'preheat'
  contentIds: string[]
  /** The target role, or "" when `peerIds` is given. */
  role: string
  /** The target peers, or [] when `role` is given. */
  peerIds: string[]
  /** Aggregated over `nodes`: see {@link jobState}. */
  state: JobStateName
  createdMs: number
  /** Nodes that reported, and (peer-list jobs) targeted peers yet to report as `pending`; sorted by peer ID. */
  nodes: JobNodeProgress[]
}

/** A command a node runs, as carried by the control event stream. */
export type ControlCommand =
  | { kind: 'purge', contentId: string }
  | { kind: 'preheat', jobId: string, contentIds: string[], role: string, peerIds: string[] }

/** What changed in the fleet state: a role's cluster document, the bans or the keys. */
export type StateChange = { kind: 'state', scope: 'config', role: string } | { kind: 'state', scope: 'bans' | 'keys' }

/** One entry of the control event stream; `id` is its Redis stream ID (`<ms>-<seq>`). */
export type ControlEvent = (ControlCommand | StateChange) & { id: string }

/**
 * A job's state from its nodes' (ControlService.Job): FAILED once any node failed, PENDING
 * before any report, SUCCEEDED once every node that reported succeeded and, for a job
 * addressed to a peer list, every listed peer has; RUNNING otherwise.
 */
export function jobState (nodes: ReadonlyArray<Pick<JobNodeProgress, 'state'>>): JobStateName {
  if (nodes.some(n => n.state === 'failed')) return 'failed'
  if (nodes.every(n => n.state === 'pending')) return 'pending'
  if (nodes.every(n => n.state === 'succeeded')) return 'succeeded'
  return 'running'
}
