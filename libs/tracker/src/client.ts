import { Code, ConnectError, createClient, type CallOptions, type Client } from '@connectrpc/connect'
import { createConnectTransport } from '@connectrpc/connect-node'
import { TrackerService } from '@codio/proto'
import { bearerInterceptor, readClientTokenSync } from '@codio/auth'
import { DEFAULT_CLIENT_TIMEOUT_MS } from './constants.js'
import { InvalidRequestError, PeerNotFoundError, TrackerRequestError, TrackerTimeoutError, TrackerUnavailableError } from './errors.js'
import { availabilityEntryFromProto, peerCandidateFromProto, peerMetricsFromProto } from './proto-convert.js'
import { validateSelectRequest } from './selection.js'
import type { AvailabilityEntry, AvailabilityQuery, PeerMetrics, SelectedPeer } from './types.js'
import { tracingInterceptor } from '@codio/tracing'

export interface TrackerClientInit {
  /** The tracker's RPC listener, e.g. `http://127.0.0.1:7091`. */
  baseUrl: string
  /** Deadline of each call unless the call gives its own, ms. Default 500. */
  timeoutMs?: number
  /** Bearer token (scope `node` or `read`) sent with every call. */
  token?: string
  /**
   * File holding that token (config `tracker.tokenFile`, a Secret), read once here; the first
   * token of the file is sent. Ignored when `token` is given.
   */
  tokenFile?: string
}

export interface CallInit {
  /** This call's deadline, ms. */
  timeoutMs?: number
  signal?: AbortSignal
}

export interface SelectOptions extends CallInit {
  /** Peers not to return. */
  exclude?: readonly string[]
  /** The asking peer: never returned; decides the order among equally good peers. */
  requesterPeerId?: string
}

/**
 * A typed client of `codio.tracker.v1.TrackerService` (Connect protocol over HTTP/1.1). Every
 * call has a short deadline (default 500 ms) because its callers have a fallback: an edge
 * that gets {@link TrackerTimeoutError} or {@link TrackerUnavailableError} (or `undefined` from
 * {@link TrackerClient.trySelectPeers}) looks providers up in the DHT instead.
 *
 * Errors: TrackerTimeoutError (no answer by the deadline), TrackerUnavailableError (unreachable,
 * or the tracker's store is down), InvalidRequestError (bad arguments, checked before sending
 * where possible), PeerNotFoundError (GetPeerMetrics of an unknown peer), TrackerRequestError
 * (anything else, with the Connect code: `unauthenticated` for a missing or wrong token,
 * `permission_denied` for a token without the `read` scope).
 */
export class TrackerClient {
  private readonly client: Client<typeof TrackerService>
  private readonly timeoutMs: number

  /** @throws TokenFileError when `tokenFile` cannot be read or holds no token */
  constructor (init: TrackerClientInit) {
    const token = init.token ?? (init.tokenFile == null || init.tokenFile === '' ? undefined : readClientTokenSync(init.tokenFile))
    this.client = createClient(TrackerService, createConnectTransport({
      baseUrl: init.baseUrl,
      httpVersion: '1.1',
      interceptors: [tracingInterceptor('client'), ...(token == null ? [] : [bearerInterceptor(token)])]
    }))
    this.timeoutMs = init.timeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS
  }

  /**
   * The best `count` (1..100) online holders of `contentId`, best first; an empty list when no
   * one online holds it.
   */
  async selectPeers (contentId: string, count: number, options: SelectOptions = {}): Promise<SelectedPeer[]> {
    const req = validateSelectRequest({ contentId, count, exclude: options.exclude, requesterPeerId: options.requesterPeerId })
    const res = await this.call(async (o) => this.client.selectPeers({ contentId: req.contentId, count: req.count, exclude: [...req.exclude], requesterPeerId: req.requesterPeerId }, o), options)
    return res.peers.map(peerCandidateFromProto)
  }

  /**
   * {@link selectPeers}, but `undefined` instead of TrackerTimeoutError or
   * TrackerUnavailableError: the edge's "ask the tracker, else the DHT" in one call. Other
   * errors (bad arguments, a tracker bug) still throw.
   */
  async trySelectPeers (contentId: string, count: number, options: SelectOptions = {}): Promise<SelectedPeer[] | undefined> {
    try {
      return await this.selectPeers(contentId, count, options)
    } catch (err) {
      if (err instanceof TrackerTimeoutError || err instanceof TrackerUnavailableError) return undefined
      throw err
    }
  }

  /** What the tracker knows of one peer. @throws PeerNotFoundError when it knows nothing */
  async getPeerMetrics (peerId: string, options: CallInit = {}): Promise<PeerMetrics> {
    return peerMetricsFromProto(await this.call(async (o) => this.client.getPeerMetrics({ peerId }, o), options))
  }

  /** The holders of a content ID, or the contents of a peer. */
  async listAvailability (query: AvailabilityQuery, options: CallInit = {}): Promise<AvailabilityEntry[]> {
    const key = query.contentId !== undefined ? { case: 'contentId' as const, value: query.contentId } : { case: 'peerId' as const, value: query.peerId }
    const res = await this.call(async (o) => this.client.listAvailability({ key, includeOffline: query.includeOffline ?? false }, o), options)
    return res.entries.map(availabilityEntryFromProto)
  }

  private async call<T> (fn: (o: CallOptions) => Promise<T>, options: CallInit): Promise<T> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs
    try {
      return await fn({ timeoutMs, signal: options.signal })
    } catch (err) {
      throw fromConnectError(err, timeoutMs)
    }
  }
}

// Socket errors that mean "nobody answers there", whatever code the transport gave them.
const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ETIMEDOUT'])

/** The typed client error a failed call becomes. */
export function fromConnectError (err: unknown, timeoutMs: number): Error {
  const e = ConnectError.from(err)
  const options = { cause: err }
  const errno = (e.cause as NodeJS.ErrnoException | undefined)?.code
  if (typeof errno === 'string' && NETWORK_ERRORS.has(errno)) return new TrackerUnavailableError(`tracker unreachable: ${e.rawMessage}`, options)
  switch (e.code) {
    case Code.DeadlineExceeded: return new TrackerTimeoutError(`tracker did not answer within ${timeoutMs} ms`, options)
    case Code.Unavailable: return new TrackerUnavailableError(`tracker unavailable: ${e.rawMessage}`, options)
    case Code.InvalidArgument: return new InvalidRequestError(e.rawMessage, options)
    case Code.NotFound: return new PeerNotFoundError(e.rawMessage, options)
    default: return new TrackerRequestError(`tracker call failed: ${e.rawMessage}`, Code[e.code].replace(/[A-Z]/g, (c, i: number) => (i > 0 ? '_' : '') + c.toLowerCase()), options)
  }
}
