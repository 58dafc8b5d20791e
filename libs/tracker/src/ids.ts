import { MAX_ID_LENGTH, MAX_MULTIADDR_LENGTH } from './constants.js'

// libp2p peer IDs in text are base58btc ("12D3KooW…", "Qm…") or a base32 CIDv1 ("bafz…").
const PEER_ID = /^[A-Za-z0-9]+$/
// Content IDs are CIDs in any multibase text form: base32, base58btc, base36, base64url.
const CONTENT_ID = /^[A-Za-z0-9_-]+$/
// A multiaddr in text: "/"-separated printable ASCII, no spaces (they would break the store's framing).
const MULTIADDR = /^\/[\x21-\x7e]*$/
const ROLE = /^[a-z][a-z0-9-]{0,31}$/

/** Whether `s` can be a libp2p peer ID in text form (1–256 letters and digits). */
export function isPeerId (s: string): boolean {
  return s.length > 0 && s.length <= MAX_ID_LENGTH && PEER_ID.test(s)
}

/** Whether `s` can be a content ID (a CID in text form: 1–256 of `A–Z a–z 0–9 _ -`). */
export function isContentId (s: string): boolean {
  return s.length > 0 && s.length <= MAX_ID_LENGTH && CONTENT_ID.test(s)
}

/** Whether `s` looks like a multiaddr in text form (starts with "/", printable ASCII, ≤ 1024 chars). */
export function isMultiaddr (s: string): boolean {
  return s.length <= MAX_MULTIADDR_LENGTH && MULTIADDR.test(s)
}

/** Whether `s` is a role word such as `edge`, `relay`, `origin`. */
export function isRole (s: string): boolean {
  return ROLE.test(s)
}
