import { randomUUID } from 'node:crypto'
import type { JsonObject } from '@bufbuild/protobuf'
import type { Redis } from 'ioredis'
import { decodePublicKey } from '@codio/signing'
import { DEFAULT_KEY_PREFIX } from '../constants.js'
import { InvalidPublicKeyError, JobNotFoundError, VersionConflictError } from '../control-errors.js'
import { jobState, type ClusterConfigDoc, type ClusterState, type ControlCommand, type ControlEvent, type FleetBan, type JobNodeProgress, type JobStateName, type PreheatJob, type StateChange } from '../control-types.js'
import { InvalidRequestError } from '../errors.js'
import { isContentId, isPeerId, isRole } from '../ids.js'
import { pipelineResults, storeCall } from './context.js'
import { decodeEvent, eventData, eventType, isEventId } from './control-events.js'
import { controlKeys, type ControlKeys } from './control-keys.js'
import { CONTROL_SCRIPTS, type ControlScriptName } from './control-scripts.js'

/** The event stream is trimmed to about this many entries (XADD MAXLEN ~). */
export const DEFAULT_EVENT_STREAM_LENGTH = 10_000
/** Jobs are forgotten this long after they were created, ms (7 days). */
export const DEFAULT_JOB_TTL_MS = 7 * 24 * 3600_000
/** A preheat job names at most this many contents, and at most this many peers. */
export const MAX_JOB_CONTENTS = 1000
export const MAX_JOB_PEERS = 10_000
/** A ban reason or a job error is cut to this many characters. */
export const MAX_REASON_LENGTH = 1024
/** ListJobs returns at most this many. */
export const MAX_LIST_JOBS = 1000
/** Attempts of an UpdateClusterConfig without expected version against concurrent updates. */
const CAS_ATTEMPTS = 10

export interface ControlStoreInit {
  /** An ioredis client, ideally from `createTrackerRedis` (fails fast when Redis is away). */
  redis: Redis
  /** Default `codio:tracker:` (the same as the TrackerStore's, whose banned peers and availability it touches). */
  keyPrefix?: string
  /** Default 10 000. */
  eventStreamLength?: number
  /** Default 7 days, ms. */
  jobTtlMs?: number
  /** Clock, Unix ms. Default `Date.now`. */
  now?: () => number
}

export interface PreheatJobRequest {
  contentIds: string[]
  /** Every node of this role ... */
  role?: string
  /** ... or exactly these peers (one of the two). */
  peerIds?: string[]
}

/** A node's report on a job: `running` with counts, then `succeeded` or `failed` (with `error`). */
export interface ProgressReport {
  peerId: string
  state: Exclude<JobStateName, 'pending'>
  contentsDone: number
  contentsTotal: number
  bytesDone: number
  error?: string
}

type ScriptFn = (...args: string[]) => Promise<unknown>

const bad = (what: string, s: string): InvalidRequestError =>
  new InvalidRequestError(s === '' ? `${what} is empty` : `${JSON.stringify(s.slice(0, 80))} is not a ${what}`)

/**
 * Whether `s` is an Ed25519 public key: the canonical unpadded base64url of 32 bytes that are
 * a point on the curve (RFC 8032 §5.1.3), as every node's `TrustedKeys` demands, so the fleet
 * never trusts or revokes a key the nodes cannot apply. Never throws.
 */
export function isPublicKey (s: string): boolean {
  try {
    decodePublicKey(s)
    return true
  } catch {
    return false
  }
}

const count = (n: number, what: string): number => {
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidRequestError(`${what} must be a whole number ≥ 0`)
  return n
}

/**
 * The fleet control plane's state in Redis (layout in control-keys.ts): per-role cluster
 * documents (versioned, compare-and-set), fleet bans (which SelectPeers honours), trusted and
 * revoked publisher keys, preheat jobs and the control event stream every tracker replica tails.
 * Every change appends an event in the same atomic step (a Lua script or MULTI), so replicas
 * learn of each change exactly when it is visible. Does not own the Redis client.
 *
 * Errors: InvalidRequestError (bad input), VersionConflictError, JobNotFoundError,
 * InvalidPublicKeyError, StoreUnavailableError (Redis away), StoreError.
 */
export class ControlStore {
  readonly keys: ControlKeys
  private readonly redis: Redis
  private readonly prefix: string
  private readonly maxLen: string
  private readonly jobTtlMs: number
  private readonly now: () => number
  private readonly scripts: Record<ControlScriptName, ScriptFn>

  constructor (init: ControlStoreInit) {
    this.redis = init.redis
    this.prefix = init.keyPrefix ?? DEFAULT_KEY_PREFIX
    this.keys = controlKeys(this.prefix)
    this.maxLen = String(init.eventStreamLength ?? DEFAULT_EVENT_STREAM_LENGTH)
    this.jobTtlMs = init.jobTtlMs ?? DEFAULT_JOB_TTL_MS
    this.now = init.now ?? Date.now
    for (const [name, lua] of Object.entries(CONTROL_SCRIPTS)) this.redis.defineCommand(name, { numberOfKeys: 0, lua })
    const fns = this.redis as unknown as Record<string, ScriptFn>
    this.scripts = Object.fromEntries(Object.keys(CONTROL_SCRIPTS).map(n => [n, async (...args: string[]) => fns[n].apply(this.redis, args)])) as Record<ControlScriptName, ScriptFn>
  }

  /** A role's cluster document; version 0 and `{}` when never set. @throws InvalidRequestError for a malformed role */
  async getClusterConfig (role: string): Promise<ClusterConfigDoc> {
    if (!isRole(role)) throw bad('role', role)
    const h = await storeCall('get cluster config', async () => this.redis.hgetall(this.keys.clusterConfig(role)))
    return parseConfigDoc(role, h)
  }

  /**
   * Change a role's cluster document: `compute` gets the current document and returns the new
   * one (it may throw, e.g. a validation error, which is passed on and nothing changes). The
   * write is a compare-and-set on the version: with `expectedVersion` ≠ 0 a document at another
   * version is refused with VersionConflictError; with 0, a concurrent update makes it read
   * and compute again (up to 10 times), so no update is lost.
   */
  async updateClusterConfig (role: string, expectedVersion: number, compute: (current: ClusterConfigDoc) => JsonObject): Promise<ClusterConfigDoc> {
    count(expectedVersion, 'expected version')
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const current = await this.getClusterConfig(role)
      if (expectedVersion !== 0 && current.version !== expectedVersion) throw conflict(role, expectedVersion, current.version)
      const doc = compute(current)
      const now = this.now()
      const [ok, version] = await storeCall('update cluster config', async () => this.scripts.codioControlSetClusterConfig(
        this.prefix, role, String(current.version), JSON.stringify(doc), String(now), this.maxLen, eventData({ kind: 'state', scope: 'config', role })
      )) as [number, number]
      if (ok === 1) return { role, version, config: doc, updatedMs: now }
      if (expectedVersion !== 0) throw conflict(role, expectedVersion, version)
    }
    throw new VersionConflictError(`cluster config of ${role}: too many concurrent updates, try again`, (await this.getClusterConfig(role)).version)
  }

  /**
   * Ban `peerId` fleet-wide for `durationSeconds` (0 = until lifted); banning again replaces the
   * ban. SelectPeers stops handing it out at once; nodes get it in their next snapshot.
   */
  async banPeer (peerId: string, reason: string, durationSeconds: number): Promise<FleetBan> {
    if (!isPeerId(peerId)) throw bad('peer ID', peerId)
    count(durationSeconds, 'duration')
    const createdMs = this.now()
    const ban: FleetBan = { peerId, reason: reason.slice(0, MAX_REASON_LENGTH), createdMs, expiresMs: durationSeconds === 0 ? 0 : createdMs + durationSeconds * 1000 }
    const { peerId: _, ...record } = ban
    // expired bans leave the set and their records here, where the set is written anyway
    const expired = await storeCall('ban peer', async () => this.redis.zrangebyscore(this.keys.bans, '-inf', createdMs))
    const batch = this.redis.multi()
    if (expired.length > 0) batch.zrem(this.keys.bans, ...expired).hdel(this.keys.banRecords, ...expired)
    await this.exec('ban peer', batch
      .zadd(this.keys.bans, ban.expiresMs === 0 ? 'inf' : String(ban.expiresMs), peerId)
      .hset(this.keys.banRecords, peerId, JSON.stringify(record))
      .xadd(...this.xadd({ kind: 'state', scope: 'bans' })))
    return ban
  }

  /**
   * Lift a fleet ban (also the tracker's own configured ban of the peer, until the tracker
   * restarts and applies its configuration again).
   * @returns whether the peer was banned
   */
  async unbanPeer (peerId: string): Promise<boolean> {
    if (!isPeerId(peerId)) throw bad('peer ID', peerId)
    const r = await this.exec('unban peer', this.redis.multi()
      .zscore(this.keys.bans, peerId)
      .zrem(this.keys.bans, peerId)
      .hdel(this.keys.banRecords, peerId)
      .srem(`${this.prefix}banned`, peerId)
      .xadd(...this.xadd({ kind: 'state', scope: 'bans' })))
    const score = r[0] as string | null
    return (score !== null && (score === 'inf' || Number(score) > this.now())) || r[3] === 1
  }

  /** Active fleet bans, sorted by peer ID. */
  async listBans (): Promise<FleetBan[]> {
    const [peers, records] = await this.exec('list bans', this.redis.pipeline()
      .zrangebyscore(this.keys.bans, `(${this.now()}`, '+inf')
      .hgetall(this.keys.banRecords)) as [string[], Record<string, string>]
    return parseBans(peers, records)
  }

  /** Trust a publisher key fleet-wide (and lift a revocation of it). @throws InvalidPublicKeyError */
  async trustKey (publicKey: string): Promise<void> {
    checkKey(publicKey)
    await this.exec('trust key', this.redis.multi()
      .sadd(this.keys.trustedKeys, publicKey)
      .srem(this.keys.revokedKeys, publicKey)
      .xadd(...this.xadd({ kind: 'state', scope: 'keys' })))
  }

  /** Revoke a publisher key fleet-wide: no longer trusted, and listed as revoked. @throws InvalidPublicKeyError */
  async revokeKey (publicKey: string): Promise<void> {
    checkKey(publicKey)
    await this.exec('revoke key', this.redis.multi()
      .srem(this.keys.trustedKeys, publicKey)
      .sadd(this.keys.revokedKeys, publicKey)
      .xadd(...this.xadd({ kind: 'state', scope: 'keys' })))
  }

  /** Fleet keys, each list sorted. */
  async listKeys (): Promise<{ trusted: string[], revoked: string[] }> {
    const [trusted, revoked] = await this.exec('list keys', this.redis.pipeline().smembers(this.keys.trustedKeys).smembers(this.keys.revokedKeys)) as [string[], string[]]
    return { trusted: trusted.sort(), revoked: revoked.sort() }
  }

  /**
   * Purge a content fleet-wide: the tracker forgets every holder of it at once, and a purge
   * command goes to every node. @returns the command's event ID
   */
  async purge (contentId: string): Promise<string> {
    if (!isContentId(contentId)) throw bad('content ID', contentId)
    const cmd: ControlCommand = { kind: 'purge', contentId }
    return await storeCall('purge', async () => this.scripts.codioControlPurge(this.prefix, contentId, this.maxLen, eventData(cmd))) as string
  }

  /**
   * Record a preheat job (PENDING) and send its command to the targeted nodes.
   * @throws InvalidRequestError unless exactly one of role and peer IDs is given, and every content and peer ID is well-formed
   */
  async createPreheatJob (req: PreheatJobRequest): Promise<{ job: PreheatJob, eventId: string }> {
    const contentIds = [...new Set(req.contentIds)]
    const peerIds = [...new Set(req.peerIds ?? [])]
    const role = req.role ?? ''
    if (contentIds.length === 0) throw new InvalidRequestError('give at least one content ID')
    if (contentIds.length > MAX_JOB_CONTENTS) throw new InvalidRequestError(`at most ${MAX_JOB_CONTENTS} content IDs per job`)
    for (const c of contentIds) if (!isContentId(c)) throw bad('content ID', c)
    if ((role === '') === (peerIds.length === 0)) throw new InvalidRequestError('give either a role or peer IDs (not both)')
    if (role !== '' && !isRole(role)) throw bad('role', role)
    if (peerIds.length > MAX_JOB_PEERS) throw new InvalidRequestError(`at most ${MAX_JOB_PEERS} peer IDs per job`)
    for (const p of peerIds) if (!isPeerId(p)) throw bad('peer ID', p)
    const id = randomUUID()
    const createdMs = this.now()
    const key = this.keys.job(id)
    const r = await this.exec('create job', this.redis.multi()
      .hset(key, 'type', 'preheat', 'cids', JSON.stringify(contentIds), 'role', role, 'peers', JSON.stringify(peerIds), 'created', String(createdMs))
      .pexpire(key, this.jobTtlMs)
      .zadd(this.keys.jobs, String(createdMs), id)
      .zremrangebyscore(this.keys.jobs, '-inf', `(${createdMs - this.jobTtlMs}`)
      .xadd(...this.xadd({ kind: 'preheat', jobId: id, contentIds, role, peerIds })))
    return { job: toJob(id, { type: 'preheat', cids: JSON.stringify(contentIds), role, peers: JSON.stringify(peerIds), created: String(createdMs) }) as PreheatJob, eventId: r[4] as string }
  }

  /** @throws JobNotFoundError */
  async getJob (id: string): Promise<PreheatJob> {
    const h = /^[A-Za-z0-9-]{1,64}$/.test(id) ? await storeCall('get job', async () => this.redis.hgetall(this.keys.job(id))) : {}
    const job = toJob(id, h)
    if (job === undefined) throw new JobNotFoundError(`no job ${JSON.stringify(id.slice(0, 80))}`)
    return job
  }

  /** Jobs newest first, at most `limit` (1..1000). */
  async listJobs (limit: number): Promise<PreheatJob[]> {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_JOBS) throw new InvalidRequestError(`limit must be 1..${MAX_LIST_JOBS}`)
    const ids = await storeCall('list jobs', async () => this.redis.zrevrangebyscore(this.keys.jobs, '+inf', `(${this.now() - this.jobTtlMs}`, 'LIMIT', 0, limit))
    if (ids.length === 0) return []
    const pipe = this.redis.pipeline()
    for (const id of ids) pipe.hgetall(this.keys.job(id))
    const hashes = await this.exec('list jobs', pipe) as Array<Record<string, string>>
    return ids.map((id, i) => toJob(id, hashes[i])).filter((j): j is PreheatJob => j !== undefined)
  }

  /**
   * Record a node's progress on a job (the latest report per node wins).
   * @throws JobNotFoundError, InvalidRequestError (bad fields, or a peer the job does not target)
   */
  async reportJobProgress (jobId: string, p: ProgressReport): Promise<void> {
    if (!isPeerId(p.peerId)) throw bad('peer ID', p.peerId)
    if (!['running', 'succeeded', 'failed'].includes(p.state)) throw new InvalidRequestError('state must be running, succeeded or failed')
    const record = {
      state: p.state,
      contentsDone: count(p.contentsDone, 'contents done'),
      contentsTotal: count(p.contentsTotal, 'contents total'),
      bytesDone: count(p.bytesDone, 'bytes done'),
      error: (p.error ?? '').slice(0, MAX_REASON_LENGTH),
      updatedMs: this.now()
    }
    const r = /^[A-Za-z0-9-]{1,64}$/.test(jobId)
      ? await storeCall('report job progress', async () => this.scripts.codioControlReportProgress(this.prefix, jobId, p.peerId, JSON.stringify(record)))
      : 0
    if (r === 0) throw new JobNotFoundError(`no job ${JSON.stringify(jobId.slice(0, 80))}`)
    if (r === -1) throw new InvalidRequestError(`job ${jobId} does not target peer ${p.peerId}`)
  }

  /** What every node of `role` applies: its cluster document, active bans, fleet keys. One round trip. */
  async clusterState (role: string): Promise<ClusterState> {
    if (!isRole(role)) throw bad('role', role)
    const [config, peers, records, trusted, revoked] = await this.exec('cluster state', this.redis.pipeline()
      .hgetall(this.keys.clusterConfig(role))
      .zrangebyscore(this.keys.bans, `(${this.now()}`, '+inf')
      .hgetall(this.keys.banRecords)
      .smembers(this.keys.trustedKeys)
      .smembers(this.keys.revokedKeys)) as [Record<string, string>, string[], Record<string, string>, string[], string[]]
    return { config: parseConfigDoc(role, config), bans: parseBans(peers, records), trustedKeys: trusted.sort(), revokedKeys: revoked.sort() }
  }

  /** The ID of the newest event, "0-0" when there is none. */
  async lastEventId (): Promise<string> {
    const r = await storeCall('last event', async () => this.redis.xrevrange(this.keys.events, '+', '-', 'COUNT', 1))
    return r[0]?.[0] ?? '0-0'
  }

  /** Up to `count` events after `afterId` (exclusive), oldest first; entries it cannot read are skipped. */
  async eventsAfter (afterId: string, count = 500): Promise<{ events: ControlEvent[], lastId: string }> {
    if (!isEventId(afterId)) throw bad('event ID', afterId)
    const entries = await storeCall('read events', async () => this.redis.xrange(this.keys.events, `(${afterId}`, '+', 'COUNT', count))
    return { events: decodeAll(entries), lastId: entries.at(-1)?.[0] ?? afterId }
  }

  /**
   * Wait up to `blockMs` for events after `afterId` on `conn` — a connection of its own, since
   * XREAD BLOCK holds it (and its command timeout must exceed `blockMs`).
   * @returns the events (possibly none) and the ID to read after next
   */
  async waitEvents (conn: Redis, afterId: string, blockMs: number, count = 500): Promise<{ events: ControlEvent[], lastId: string }> {
    const r = await storeCall('tail events', async () => conn.xread('COUNT', count, 'BLOCK', blockMs, 'STREAMS', this.keys.events, afterId))
    const entries = r?.[0]?.[1] ?? []
    return { events: decodeAll(entries), lastId: entries.at(-1)?.[0] ?? afterId }
  }

  private xadd (e: ControlCommand | StateChange): [string, ...string[]] {
    return [this.keys.events, 'MAXLEN', '~', this.maxLen, '*', 't', eventType(e), 'd', eventData(e)]
  }

  private async exec (what: string, batch: { exec: () => Promise<Array<[Error | null, unknown]> | null> }): Promise<unknown[]> {
    return pipelineResults(what, await storeCall(what, async () => batch.exec()))
  }
}

const decodeAll = (entries: Array<[string, string[]]>): ControlEvent[] =>
  entries.map(decodeEvent).filter((e): e is ControlEvent => e !== undefined)

function conflict (role: string, expected: number, current: number): VersionConflictError {
  return new VersionConflictError(`cluster config of ${role} is at version ${current}, not ${expected}`, current)
}

function checkKey (publicKey: string): void {
  if (!isPublicKey(publicKey)) throw new InvalidPublicKeyError(`${JSON.stringify(publicKey.slice(0, 80))} is not a base64url Ed25519 public key (32 bytes)`)
}

function parseJson<T> (s: string | undefined, fallback: T): T {
  if (s === undefined) return fallback
  try {
    return JSON.parse(s) as T
  } catch {
    return fallback
  }
}

function parseConfigDoc (role: string, h: Record<string, string>): ClusterConfigDoc {
  const config = parseJson<JsonObject>(h.doc, {})
  return {
    role,
    version: Number(h.version ?? 0) || 0,
    config: config !== null && typeof config === 'object' && !Array.isArray(config) ? config : {},
    updatedMs: Number(h.updated ?? 0) || 0
  }
}

function parseBans (peers: string[], records: Record<string, string>): FleetBan[] {
  return peers.sort().map(peerId => {
    const r = parseJson<Partial<FleetBan>>(records[peerId], {})
    return { peerId, reason: typeof r.reason === 'string' ? r.reason : '', createdMs: Number(r.createdMs) || 0, expiresMs: Number(r.expiresMs) || 0 }
  })
}

function toJob (id: string, h: Record<string, string>): PreheatJob | undefined {
  if (h.type === undefined) return undefined
  const peerIds = parseJson<string[]>(h.peers, [])
  const reported = new Map<string, JobNodeProgress>()
  for (const [field, value] of Object.entries(h)) {
    if (!field.startsWith('n:')) continue
    const peerId = field.slice(2)
    const r = parseJson<Partial<JobNodeProgress>>(value, {})
    reported.set(peerId, {
      peerId,
      state: r.state === 'running' || r.state === 'succeeded' || r.state === 'failed' ? r.state : 'running',
      contentsDone: Number(r.contentsDone) || 0,
      contentsTotal: Number(r.contentsTotal) || 0,
      bytesDone: Number(r.bytesDone) || 0,
      error: typeof r.error === 'string' ? r.error : '',
      updatedMs: Number(r.updatedMs) || 0
    })
  }
  for (const p of peerIds) {
    if (!reported.has(p)) reported.set(p, { peerId: p, state: 'pending', contentsDone: 0, contentsTotal: 0, bytesDone: 0, error: '', updatedMs: 0 })
  }
  const nodes = [...reported.values()].sort((a, b) => a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0)
  return {
    id,
    type: 'preheat',
    contentIds: parseJson<string[]>(h.cids, []),
    role: h.role ?? '',
    peerIds,
    state: jobState(nodes),
    createdMs: Number(h.created) || 0,
    nodes
  }
}
