import { headers as natsHeaders, type ConnectionOptions, type NatsConnection } from 'nats'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { DEFAULT_GOSSIP_DEBOUNCE_MS, DEFAULT_GOSSIP_INTERVAL_MS, DEFAULT_SUBJECT_PREFIX } from './constants.js'
import { encodeAvailability, encodeMetrics, type HoldingInit } from './gossip-codec.js'
import { GOSSIP_SIGNATURE_HEADER, signGossip } from './gossip-signature.js'
import { keepNatsConnection, type NatsKeeper } from './nats-connect.js'
import { availabilitySubject, metricsSubject } from './subjects.js'
import { context, injectHeaders, recordError, SpanKind, trace, tracer } from '@codio/tracing'
import type { Observation } from './types.js'

/** A node's own counters, cumulative since it started (see `MetricsReport` in gossip.proto). */
export interface NodeMetrics {
  uptimeSeconds: number
  chunksServed: number
  chunksFailed: number
  bytesServed: number
  /** What it measured of the peers it downloaded from since the previous report. */
  observations?: Observation[]
}

const gossipTracer = tracer('@codio/tracker')
/** The span name's destination: the subject template, without the peer ID (low cardinality). */
const GOSSIP_SPAN_DESTINATION: Record<string, string> = { availability: 'codio.gossip.availability', metrics: 'codio.gossip.metrics' }

/** The subset of a pino logger the publisher uses. */
export interface PublisherLog {
  warn(obj: object, msg: string): void
  debug(obj: object, msg: string): void
}

export interface GossipPublisherInit {
  /** A connection to share (left open on stop), or server URL(s) to connect to (closed on stop). */
  nats: NatsConnection | string | string[]
  /** Extra nats.js options when connecting to URLs, e.g. credentials from {@link natsAuthOptions}. */
  natsOptions?: Partial<ConnectionOptions>
  /**
   * This node's libp2p private key: its peer ID names the messages, and every message is
   * signed with it (header `Codio-Signature`), so the tracker can refuse gossip in its name
   * from anyone else.
   */
  privateKey: PrivateKey
  /** e.g. `['edge']`. */
  roles?: string[]
  /** The node's dialable multiaddrs, read at each publication. */
  multiaddrs?: () => string[]
  /** What the node holds now. */
  availability(): HoldingInit[] | Promise<HoldingInit[]>
  /** The node's counters now. */
  metrics(): NodeMetrics | Promise<NodeMetrics>
  /** Publish every this many ms. Default 30 000. */
  intervalMs?: number
  /** `changed()` publishes within this many ms, coalescing changes meanwhile. Default 1000. */
  debounceMs?: number
  /** Default `codio.gossip`. */
  subjectPrefix?: string
  /** Clock for message timestamps, Unix ms. Default `Date.now`. */
  now?: () => number
  log?: PublisherLog
}

export interface PublisherStats {
  /** Messages handed to NATS. */
  published: number
  /** Messages not sent: not connected, a callback threw, invalid input, NATS refused. */
  failed: number
}

const quiet: PublisherLog = { warn: () => {}, debug: () => {} }

/**
 * Publishes a node's gossip for the tracker: an `Availability` snapshot on
 * `codio.gossip.availability.<peerId>` and a `MetricsReport` on `codio.gossip.metrics.<peerId>`,
 * every `intervalMs` and within `debounceMs` of `changed()`, each signed with the node's key.
 *
 * It never throws into the node: a callback that throws, invalid data or a lost connection is
 * logged and counted in `stats.failed`, and the next round tries again. Given a URL it
 * connects in the background (retrying every second until the server answers) and then lets
 * nats.js reconnect forever (`maxReconnectAttempts: -1`), buffering what is published while
 * disconnected, so a NATS restart costs at most a round.
 *
 * @example
 * ```ts
 * const gossip = new GossipPublisher({ nats: 'nats://127.0.0.1:4222', privateKey, roles: ['edge'],
 *   availability: () => store.holdings(), metrics: () => stats.snapshot() })
 * gossip.start()
 * store.on('stored', () => gossip.changed())
 * await gossip.stop()
 * ```
 */
export class GossipPublisher {
  private readonly init: GossipPublisherInit
  /** This node's peer ID, from its key. */
  readonly peerId: string
  private readonly prefix: string
  private readonly now: () => number
  private readonly log: PublisherLog
  private readonly shared: NatsConnection | undefined
  private keeper: NatsKeeper | undefined
  private sequence = 0
  private interval: NodeJS.Timeout | undefined
  private debounce: NodeJS.Timeout | undefined
  private running: Promise<boolean> | undefined
  /** The round that follows the running one, once someone asked for it, and what settles it. */
  private next: Promise<boolean> | undefined
  private resolveNext: ((published: boolean) => void) | undefined
  private started = false
  private stopped = false
  private readonly counts: PublisherStats = { published: 0, failed: 0 }

  constructor (init: GossipPublisherInit) {
    this.init = init
    this.peerId = peerIdFromPrivateKey(init.privateKey).toString()
    this.prefix = init.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX
    this.now = init.now ?? Date.now
    this.log = init.log ?? quiet
    if (typeof init.nats !== 'string' && !Array.isArray(init.nats)) this.shared = init.nats
  }

  /** Counters since construction. */
  get stats (): PublisherStats { return { ...this.counts } }

  /** Whether a NATS connection is open (it may be reconnecting). */
  get connected (): boolean {
    const nc = this.nc
    return nc !== undefined && !nc.isClosed()
  }

  private get nc (): NatsConnection | undefined { return this.shared ?? this.keeper?.connection }

  /** Start publishing: now (once connected), then every interval. Never throws; idempotent. */
  start (): void {
    if (this.started || this.stopped) return
    this.started = true
    this.interval = setInterval(() => { void this.publishNow() }, this.periodMs ?? this.init.intervalMs ?? DEFAULT_GOSSIP_INTERVAL_MS)
    this.interval.unref()
    if (this.shared !== undefined) void this.publishNow()
    else {
      this.keeper = keepNatsConnection({
        servers: this.init.nats as string | string[],
        name: `codio-gossip-${this.peerId}`,
        options: this.init.natsOptions,
        onConnect: () => { void this.publishNow() },
        // an authorization refusal is a configuration error the operator must see, not a wait
        onRetry: (err) => /authoriz|authent/i.test(err.message)
          ? this.log.warn({ err: err.message }, 'gossip: NATS refused our credentials, retrying')
          : this.log.debug({ err: err.message }, 'gossip: NATS not reachable yet, retrying')
      })
    }
  }

  /**
   * Publish every `ms` from now on (a live configuration change): a running publisher re-arms
   * its timer, the next round coming `ms` from now.
   *
   * @throws RangeError unless `ms` is a finite number > 0
   */
  /** the interval set by {@link setIntervalMs}, over `init.intervalMs` */
  private periodMs: number | undefined

  setIntervalMs (ms: number): void {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) throw new RangeError(`gossip interval must be a finite number of ms > 0, got ${String(ms)}`)
    this.periodMs = ms
    if (this.interval === undefined || this.stopped) return
    clearInterval(this.interval)
    this.interval = setInterval(() => { void this.publishNow() }, ms)
    this.interval.unref()
  }

  /**
   * Something the node gossips about changed: publish `debounceMs` from now, together with
   * whatever else changes meanwhile (a burst of changes costs one round, and a steady stream
   * of them still goes out every `debounceMs`).
   */
  changed (): void {
    if (!this.started || this.stopped || this.debounce !== undefined) return
    this.debounce = setTimeout(() => {
      this.debounce = undefined
      void this.publishNow()
    }, this.init.debounceMs ?? DEFAULT_GOSSIP_DEBOUNCE_MS)
    this.debounce.unref()
  }

  /**
   * Publish both messages now, reading the node's state afresh. A round already running may
   * have read it before the change that prompted this call, so it is followed by exactly one
   * more (however many calls arrive meanwhile), and the promise follows that one: once it
   * resolves, the availability the tracker holds reflects the state at the call (the tracker
   * replaces a peer's whole availability set with each message). Resolves true when both
   * messages were handed to NATS; never rejects.
   */
  async publishNow (): Promise<boolean> {
    if (this.stopped) return false
    if (this.running !== undefined) {
      this.next ??= new Promise<boolean>(resolve => { this.resolveNext = resolve })
      return await this.next
    }
    this.running = this.round().finally(() => {
      this.running = undefined
      const resolve = this.resolveNext
      this.next = undefined
      this.resolveNext = undefined
      if (resolve == null) return
      if (this.stopped) resolve(false)
      else void this.publishNow().then(resolve)
    })
    return await this.running
  }

  /** Stop publishing; close the connection if this publisher opened it. Never throws. */
  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    clearInterval(this.interval)
    clearTimeout(this.debounce)
    await this.running
    await this.keeper?.close()
  }

  private async round (): Promise<boolean> {
    const ok = await Promise.all([this.publishAvailability(), this.publishMetrics()])
    return ok[0] && ok[1]
  }

  private async publishAvailability (): Promise<boolean> {
    return this.publish('availability', async () => {
      const contents = await this.init.availability()
      return [availabilitySubject(this.peerId, this.prefix), encodeAvailability({
        peerId: this.peerId,
        multiaddrs: this.init.multiaddrs?.() ?? [],
        roles: this.init.roles ?? [],
        contents,
        sequence: ++this.sequence,
        timestampMs: this.now()
      })]
    })
  }

  private async publishMetrics (): Promise<boolean> {
    return this.publish('metrics', async () => {
      const m = await this.init.metrics()
      return [metricsSubject(this.peerId, this.prefix), encodeMetrics({ ...m, peerId: this.peerId, sequence: ++this.sequence, timestampMs: this.now() })]
    })
  }

  private async publish (kind: string, build: () => Promise<[string, Uint8Array]>): Promise<boolean> {
    // a PRODUCER span per message (OTel messaging conventions); its context rides in the headers
    const span = gossipTracer.startSpan(`send ${GOSSIP_SPAN_DESTINATION[kind] ?? 'codio.gossip'}`, { kind: SpanKind.PRODUCER, attributes: { 'messaging.system': 'nats', 'messaging.operation.type': 'send', 'messaging.operation.name': 'publish' } })
    try {
      const nc = this.nc
      if (nc === undefined || nc.isClosed()) throw new Error('not connected to NATS')
      const [subject, data] = await build()
      const h = natsHeaders()
      h.set(GOSSIP_SIGNATURE_HEADER, await signGossip(this.init.privateKey, subject, data))
      injectHeaders(h, trace.setSpan(context.active(), span))
      span.setAttributes({ 'messaging.destination.name': subject, 'messaging.message.body.size': data.byteLength })
      nc.publish(subject, data, { headers: h })
      this.counts.published++
      return true
    } catch (err) {
      recordError(span, err)
      this.counts.failed++
      this.log.warn({ kind, err: (err as Error).message }, 'gossip: not published')
      return false
    } finally {
      span.end()
    }
  }
}
