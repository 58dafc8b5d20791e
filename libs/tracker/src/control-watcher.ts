import type { JsonObject } from '@bufbuild/protobuf'
import { control } from '@codio/proto'
import { ConnectError } from '@connectrpc/connect'
import { readClientToken } from '@codio/auth'
import { createControlClient, type ControlClient } from './control-client.js'
import { clusterStateFromProto, jobStateToProto } from './control-convert.js'
import { WatchInterruptedError } from './control-errors.js'
import type { FleetBan } from './control-types.js'

/** Reconnection backoff: first delay, ms. */
export const DEFAULT_WATCH_BACKOFF_MS = 500
/** Reconnection backoff: longest delay, ms. */
export const DEFAULT_WATCH_MAX_BACKOFF_MS = 30_000
/** No message (heartbeats included) for this long = the tracker is gone: reconnect, ms (3 heartbeats). */
export const DEFAULT_WATCH_IDLE_TIMEOUT_MS = 45_000
/** A progress report gives up after this long, ms. */
const REPORT_TIMEOUT_MS = 5000
/** Preheat job IDs remembered to ignore a redelivered command. */
const SEEN_JOBS = 1000

/** The fleet state a node applies: its role's cluster document, fleet bans and keys. */
export interface ControlSnapshot {
  /** The role's cluster document (TOML shape); `{}` when never set. */
  config: JsonObject
  /** Its version; 0 = never set. */
  version: number
  bans: FleetBan[]
  trustedKeys: string[]
  revokedKeys: string[]
}

/** Preheat progress, sent to the tracker as ReportJobProgress. */
export interface PreheatProgress {
  state: 'running' | 'succeeded' | 'failed'
  contentsDone: number
  contentsTotal: number
  bytesDone: number
  error?: string
}

/** What the node does with the control stream. A handler that throws is logged; the stream goes on. */
export interface ControlHandlers {
  /** the role's cluster config document, fleet bans, fleet keys — replaces the previous snapshot */
  state(s: ControlSnapshot): Promise<void>
  purge(contentId: string): Promise<void>
  /** run a preheat; call report() on progress; resolve when done */
  preheat(jobId: string, contentIds: string[], report: (p: PreheatProgress) => Promise<void>): Promise<void>
}

export interface WatcherLog {
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
  debug(obj: object, msg: string): void
}

export interface ControlWatcherInit {
  /** The tracker's RPC listener, e.g. `http://tracker:7091`. */
  url: string
  /** This node's peer ID and role (`edge`, `relay`, `origin`): what the tracker addresses commands by. */
  peerId: string
  role: string
  handlers: ControlHandlers
  /**
   * File holding the bearer token (`node` scope; setting `tracker.tokenFile`), read again at each
   * connection so that a rotated Secret is followed; unset or "" = no Authorization header.
   */
  tokenFile?: string
  /** Default 500 ms, doubling per failed attempt up to `maxBackoffMs` (default 30 s), with jitter. */
  backoffMs?: number
  maxBackoffMs?: number
  /** Default 45 s. */
  idleTimeoutMs?: number
  log?: WatcherLog
}

export interface WatcherStats {
  /** Streams opened that delivered their first snapshot. */
  connects: number
  /** Streams that broke or ended. */
  disconnects: number
  snapshots: number
  commands: number
  /** Handlers that threw, reports the tracker did not take. */
  failures: number
}

const quiet: WatcherLog = { info: () => {}, warn: () => {}, debug: () => {} }

/**
 * Holds a node's `ControlService.Watch` stream open against the tracker and hands what it
 * delivers to the node: the first snapshot and every later one to `handlers.state` (an
 * identical snapshot is not handed twice), purge commands to `handlers.purge` (awaited, in
 * order), preheat commands to `handlers.preheat` (run beside the stream, so a long preheat
 * delays nothing; its progress goes back as ReportJobProgress, and a handler that resolves or
 * throws without a final report is reported succeeded or failed).
 *
 * When the stream breaks — the tracker restarts or is unreachable, or sends nothing (not even
 * its heartbeat) for `idleTimeoutMs` — it reconnects with exponential backoff and jitter
 * ("equal jitter": half the delay fixed, half random, from AWS's backoff study), keeps the
 * last snapshot meanwhile, and resumes after the last event it applied, so a command sent
 * while it was away arrives once (unless the tracker's stream of ~10 000 events moved past it).
 * Never throws into the node.
 *
 * @example
 * ```ts
 * const watcher = new ControlWatcher({ url: trackerUrl, peerId, role: 'edge', tokenFile, handlers })
 * watcher.start()
 * // ...
 * await watcher.stop()
 * ```
 */
export class ControlWatcher {
  readonly stats: WatcherStats = { connects: 0, disconnects: 0, snapshots: 0, commands: 0, failures: 0 }
  private readonly init: ControlWatcherInit
  private readonly log: WatcherLog
  private readonly client: ControlClient
  private readonly stopping = new AbortController()
  private readonly seenJobs = new Set<string>()
  private readonly preheats = new Set<Promise<void>>()
  private loop: Promise<void> | undefined
  private token: string | undefined
  private lastId = ''
  private applied: string | undefined
  private snapshot: ControlSnapshot | undefined
  private open = false

  constructor (init: ControlWatcherInit) {
    this.init = init
    this.log = init.log ?? quiet
    this.client = createControlClient(init.url, { token: () => this.token })
  }

  /** Whether a stream is open and has delivered its snapshot. */
  get connected (): boolean { return this.open }
  /** The last event applied ("" before the first command). */
  get lastEventId (): string { return this.lastId }
  /** The last snapshot handed to `handlers.state` (kept while the tracker is away). */
  get state (): ControlSnapshot | undefined { return this.snapshot }

  /** Start watching in the background (idempotent). */
  start (): void {
    this.loop ??= this.run()
  }

  /** Close the stream and stop reconnecting. Preheats under way go on in the background. */
  async stop (): Promise<void> {
    this.stopping.abort()
    await this.loop
  }

  private async run (): Promise<void> {
    let failures = 0
    while (!this.stopping.signal.aborted) {
      try {
        if (this.init.tokenFile !== undefined && this.init.tokenFile !== '') this.token = await readClientToken(this.init.tokenFile)
        if (await this.watchOnce()) failures = 0
        this.log.info({ url: this.init.url }, 'control stream ended; reconnecting')
      } catch (err) {
        if (this.stopping.signal.aborted) break
        const e = ConnectError.from(err)
        this.log.warn({ url: this.init.url, code: e.code, err: e.rawMessage, attempt: failures + 1 }, 'control stream broke; keeping the last configuration and reconnecting')
      }
      if (this.open) this.stats.disconnects++
      this.open = false
      if (this.stopping.signal.aborted) break
      failures++
      await this.sleep(this.delay(failures))
    }
    this.open = false
  }

  /** One stream, until it ends or breaks. @returns whether it delivered a snapshot */
  private async watchOnce (): Promise<boolean> {
    const call = new AbortController()
    const abort = (): void => call.abort()
    this.stopping.signal.addEventListener('abort', abort)
    const idleMs = this.init.idleTimeoutMs ?? DEFAULT_WATCH_IDLE_TIMEOUT_MS
    let idle: NodeJS.Timeout | undefined
    const touch = (): void => {
      clearTimeout(idle)
      idle = setTimeout(() => call.abort(new WatchInterruptedError(`nothing from the tracker for ${idleMs} ms`)), idleMs)
    }
    let delivered = false
    try {
      touch()
      const stream = this.client.watch({ peerId: this.init.peerId, role: this.init.role, afterEventId: this.lastId }, { signal: call.signal })
      for await (const msg of stream) {
        clearTimeout(idle) // a slow handler is not a silent tracker
        if (msg.kind.case === 'state') {
          if (!delivered) {
            delivered = true
            this.open = true
            this.stats.connects++
            this.log.info({ url: this.init.url, after: this.lastId }, 'control stream open')
          }
          await this.applyState(msg.kind.value)
        } else if (msg.kind.case === 'command') {
          await this.command(msg.eventId, msg.kind.value)
        }
        touch()
      }
      return delivered
    } catch (err) {
      if (this.stopping.signal.aborted) return delivered
      throw call.signal.reason instanceof WatchInterruptedError ? call.signal.reason : err
    } finally {
      clearTimeout(idle)
      this.stopping.signal.removeEventListener('abort', abort)
    }
  }

  private async applyState (s: control.ClusterState): Promise<void> {
    const state = clusterStateFromProto(s, this.init.role)
    const snapshot: ControlSnapshot = { config: state.config.config, version: state.config.version, bans: state.bans, trustedKeys: state.trustedKeys, revokedKeys: state.revokedKeys }
    const key = JSON.stringify(snapshot)
    if (key === this.applied) return
    this.stats.snapshots++
    try {
      await this.init.handlers.state(snapshot)
      this.applied = key
      this.snapshot = snapshot
    } catch (err) {
      this.stats.failures++
      this.log.warn({ version: snapshot.version, err: (err as Error).message }, 'cluster state not applied')
    }
  }

  private async command (eventId: string, cmd: control.Command): Promise<void> {
    this.stats.commands++
    const kind = cmd.kind
    if (kind.case === 'purge') {
      try {
        await this.init.handlers.purge(kind.value.contentId)
      } catch (err) {
        this.stats.failures++
        this.log.warn({ contentId: kind.value.contentId, err: (err as Error).message }, 'fleet purge failed')
      }
    } else if (kind.case === 'preheat') {
      const { jobId, contentIds } = kind.value
      if (!this.seenJobs.has(jobId)) {
        this.seenJobs.add(jobId)
        if (this.seenJobs.size > SEEN_JOBS) this.seenJobs.delete(this.seenJobs.values().next().value as string)
        const p = this.preheat(jobId, [...contentIds]).finally(() => this.preheats.delete(p))
        this.preheats.add(p)
      }
    }
    if (eventId !== '') this.lastId = eventId
  }

  private async preheat (jobId: string, contentIds: string[]): Promise<void> {
    let last: PreheatProgress = { state: 'running', contentsDone: 0, contentsTotal: contentIds.length, bytesDone: 0 }
    const report = async (p: PreheatProgress): Promise<void> => {
      last = p
      try {
        await this.client.reportJobProgress({
          jobId,
          progress: { peerId: this.init.peerId, state: jobStateToProto(p.state), contentsDone: p.contentsDone, contentsTotal: p.contentsTotal, bytesDone: BigInt(Math.max(0, Math.round(p.bytesDone))), error: p.error ?? '' }
        }, { timeoutMs: REPORT_TIMEOUT_MS })
      } catch (err) {
        this.stats.failures++
        this.log.warn({ jobId, state: p.state, err: ConnectError.from(err).rawMessage }, 'preheat progress not reported')
      }
    }
    try {
      await this.init.handlers.preheat(jobId, contentIds, report)
      if (last.state === 'running') await report({ ...last, state: 'succeeded' })
    } catch (err) {
      this.stats.failures++
      this.log.warn({ jobId, err: (err as Error).message }, 'preheat failed')
      if (last.state === 'running') await report({ ...last, state: 'failed', error: (err as Error).message })
    }
  }

  private delay (failures: number): number {
    const first = this.init.backoffMs ?? DEFAULT_WATCH_BACKOFF_MS
    const cap = this.init.maxBackoffMs ?? DEFAULT_WATCH_MAX_BACKOFF_MS
    const d = Math.min(cap, first * 2 ** Math.min(failures - 1, 30))
    return d / 2 + Math.random() * d / 2
  }

  private async sleep (ms: number): Promise<void> {
    const signal = this.stopping.signal
    if (signal.aborted) return
    await new Promise<void>(resolve => {
      const done = (): void => { clearTimeout(timer); signal.removeEventListener('abort', done); resolve() }
      const timer = setTimeout(done, ms)
      signal.addEventListener('abort', done)
    })
  }
}
