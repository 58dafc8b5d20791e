import type { ControlCommand, ControlEvent, StateChange } from '../control-types.js'

const EVENT_ID = /^(\d{1,20})-(\d{1,20})$/

/** Whether `s` is a Redis stream ID `<ms>-<seq>`. */
export function isEventId (s: string): boolean {
  return EVENT_ID.test(s)
}

/** Order of two stream IDs: negative, 0 or positive as `a` is before, equal to or after `b`. */
export function compareEventIds (a: string, b: string): number {
  const ma = EVENT_ID.exec(a)
  const mb = EVENT_ID.exec(b)
  if (ma === null || mb === null) throw new TypeError(`not stream IDs: ${a}, ${b}`)
  const d = BigInt(ma[1]) - BigInt(mb[1])
  if (d !== 0n) return d < 0n ? -1 : 1
  const s = BigInt(ma[2]) - BigInt(mb[2])
  return s === 0n ? 0 : s < 0n ? -1 : 1
}

/** The stream fields of an event: `t` (its kind) and `d` (the rest, JSON). */
export function eventType (e: ControlCommand | StateChange): string {
  return e.kind
}

export function eventData (e: ControlCommand | StateChange): string {
  const { kind, ...rest } = e
  return JSON.stringify(rest)
}

const str = (v: unknown): v is string => typeof v === 'string'
const strs = (v: unknown): v is string[] => Array.isArray(v) && v.every(str)

/**
 * An event from a stream entry as ioredis returns it (`[id, [field, value, ...]]`); undefined
 * for an entry this version does not understand (written by a newer tracker), which callers skip.
 */
export function decodeEvent ([id, fields]: [string, string[]]): ControlEvent | undefined {
  const f: Record<string, string> = {}
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]] = fields[i + 1]
  let d: Record<string, unknown>
  try {
    d = JSON.parse(f.d ?? '') as Record<string, unknown>
  } catch {
    return undefined
  }
  if (d === null || typeof d !== 'object') return undefined
  switch (f.t) {
    case 'purge':
      return str(d.contentId) ? { id, kind: 'purge', contentId: d.contentId } : undefined
    case 'preheat':
      return str(d.jobId) && strs(d.contentIds) && str(d.role) && strs(d.peerIds)
        ? { id, kind: 'preheat', jobId: d.jobId, contentIds: d.contentIds, role: d.role, peerIds: d.peerIds }
        : undefined
    case 'state':
      if (d.scope === 'config' && str(d.role)) return { id, kind: 'state', scope: 'config', role: d.role }
      if (d.scope === 'bans' || d.scope === 'keys') return { id, kind: 'state', scope: d.scope }
      return undefined
    default:
      return undefined
  }
}
