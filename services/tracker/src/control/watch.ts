import { create } from '@bufbuild/protobuf'
import { control } from '@codio/proto'
import { clusterStateToProto, compareEventIds, InvalidRequestError, isEventId, isPeerId, type ControlEvent, type ControlStore } from '@codio/tracker'
import { Code, ConnectError } from '@connectrpc/connect'
import type { EventHub, HubEvent } from './hub.js'

/** A Watch stream sends an empty message (neither state nor command) after this long without one, ms. */
export const DEFAULT_HEARTBEAT_MS = 15_000
/** Events queued for one watcher that has not taken them: past this it is cut off (it resumes with after_event_id). */
export const MAX_WATCH_BACKLOG = 10_000
/** Events read per XRANGE while replaying. */
const REPLAY_PAGE = 500

export interface WatchDeps {
  store: ControlStore
  hub: EventHub
  /** Whether `role` has a cluster document schema (edge, relay, origin). */
  isKnownRole: (role: string) => boolean
  heartbeatMs?: number
}

/** Events a Watch stream has not yet taken, and a way to wait for the next ones. */
class Backlog {
  private items: HubEvent[] = []
  private waiter: (() => void) | undefined
  closed = false
  overflow = false

  push (e: HubEvent): void {
    if (this.closed) return
    this.items.push(e)
    if (this.items.length > MAX_WATCH_BACKLOG) this.overflow = true
    this.waiter?.()
  }

  close (): void {
    this.closed = true
    this.waiter?.()
  }

  /** Everything queued, waiting up to `ms` for something (an empty array on timeout or close). */
  async take (ms: number): Promise<HubEvent[]> {
    if (this.items.length === 0 && !this.closed) {
      await new Promise<void>(resolve => {
        const timer = setTimeout(() => { this.waiter = undefined; resolve() }, ms)
        this.waiter = () => { clearTimeout(timer); this.waiter = undefined; resolve() }
      })
    }
    const out = this.items
    this.items = []
    return out
  }
}

type WatchMessage = control.WatchResponse

function addressed (e: ControlEvent, role: string, peerId: string): control.Command | undefined {
  if (e.kind === 'purge') return create(control.CommandSchema, { kind: { case: 'purge', value: { contentId: e.contentId } } })
  if (e.kind === 'preheat' && (e.role === role || e.peerIds.includes(peerId))) {
    return create(control.CommandSchema, { kind: { case: 'preheat', value: { jobId: e.jobId, contentIds: e.contentIds } } })
  }
  return undefined
}

const concerns = (e: HubEvent, role: string): boolean =>
  e.kind === 'resync' || (e.kind === 'state' && (e.scope !== 'config' || e.role === role))

/**
 * One node's Watch stream (see control.proto): its role's state snapshot, then the commands
 * addressed to it after `afterEventId` (replayed from the event stream), then, live, a fresh
 * snapshot whenever the role's document, the bans or the keys change (one per batch of
 * changes) and every new command addressed to it, and an empty heartbeat message after
 * `heartbeatMs` of silence so that the node can tell a quiet tracker from a dead one.
 *
 * It subscribes to the hub before reading the snapshot and replaying, so nothing falls between
 * the replay and the live events; events seen in both are sent once (by stream ID).
 * Ends cleanly when `signal` aborts (the client went away) or the hub stops (the tracker
 * stops); fails with ResourceExhausted when the node falls 10 000 events behind (it resumes
 * with `after_event_id`), Unavailable when Redis is away.
 *
 * @throws InvalidRequestError for a malformed peer ID, an unknown role or a malformed event ID
 */
export async function * watchStream (req: control.WatchRequest, signal: AbortSignal, deps: WatchDeps): AsyncGenerator<WatchMessage> {
  const { peerId, role, afterEventId } = req
  if (!isPeerId(peerId)) throw new InvalidRequestError(peerId === '' ? 'peer ID is empty' : `${JSON.stringify(peerId.slice(0, 80))} is not a peer ID`)
  if (!deps.isKnownRole(role)) throw new InvalidRequestError(`${JSON.stringify(role.slice(0, 80))} is not a role (edge, relay, origin)`)
  if (afterEventId !== '' && !isEventId(afterEventId)) throw new InvalidRequestError(`${JSON.stringify(afterEventId.slice(0, 80))} is not an event ID`)
  const heartbeatMs = deps.heartbeatMs ?? DEFAULT_HEARTBEAT_MS
  const backlog = new Backlog()
  const unsubscribe = deps.hub.subscribe(backlog)
  const onAbort = (): void => backlog.close()
  signal.addEventListener('abort', onAbort)
  const snapshot = async (): Promise<WatchMessage> =>
    create(control.WatchResponseSchema, { eventId: '', kind: { case: 'state', value: clusterStateToProto(await deps.hub.snapshot(role)) } })
  const command = (id: string, value: control.Command): WatchMessage => create(control.WatchResponseSchema, { eventId: id, kind: { case: 'command', value } })
  try {
    if (backlog.closed || signal.aborted) return
    yield await snapshot()
    let last = afterEventId
    if (last !== '') {
      for (;;) {
        const page = await deps.store.eventsAfter(last, REPLAY_PAGE)
        for (const e of page.events) {
          const cmd = addressed(e, role, peerId)
          if (cmd !== undefined) yield command(e.id, cmd)
        }
        last = page.lastId
        if (page.events.length < REPLAY_PAGE || signal.aborted) break
      }
    }
    while (!backlog.closed) {
      const batch = await backlog.take(heartbeatMs)
      if (backlog.overflow) throw new ConnectError('this watcher fell too far behind; reconnect with after_event_id', Code.ResourceExhausted)
      if (backlog.closed) break
      if (batch.length === 0) {
        yield create(control.WatchResponseSchema, {})
        continue
      }
      if (batch.some(e => concerns(e, role))) yield await snapshot()
      for (const e of batch) {
        if (e.kind === 'resync' || e.kind === 'state') continue
        if (last !== '' && compareEventIds(e.id, last) <= 0) continue
        const cmd = addressed(e, role, peerId)
        if (cmd !== undefined) yield command(e.id, cmd)
      }
    }
  } finally {
    signal.removeEventListener('abort', onAbort)
    unsubscribe()
  }
}
