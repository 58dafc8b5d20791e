import { DEFAULT_SUBJECT_PREFIX } from './constants.js'

/** The two kinds of gossip. */
export type GossipKind = 'availability' | 'metrics'

/** `<prefix>.availability.<peerId>`, default `codio.gossip.availability.<peerId>`. */
export function availabilitySubject (peerId: string, prefix = DEFAULT_SUBJECT_PREFIX): string {
  return `${prefix}.availability.${peerId}`
}

/** `<prefix>.metrics.<peerId>`, default `codio.gossip.metrics.<peerId>`. */
export function metricsSubject (peerId: string, prefix = DEFAULT_SUBJECT_PREFIX): string {
  return `${prefix}.metrics.${peerId}`
}

/** The subscription that receives every kind from every peer: `<prefix>.>`. */
export function gossipWildcard (prefix = DEFAULT_SUBJECT_PREFIX): string {
  return `${prefix}.>`
}

/** The kind and sender of a gossip subject, or `undefined` when it is not one. */
export function parseGossipSubject (subject: string, prefix = DEFAULT_SUBJECT_PREFIX): { kind: GossipKind, peerId: string } | undefined {
  if (!subject.startsWith(`${prefix}.`)) return undefined
  const rest = subject.slice(prefix.length + 1).split('.')
  if (rest.length !== 2) return undefined
  const [kind, peerId] = rest
  if (kind !== 'availability' && kind !== 'metrics') return undefined
  return { kind, peerId }
}
