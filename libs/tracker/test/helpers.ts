import { randomBytes } from 'node:crypto'
import type { Holding } from '../src/types.js'
import { until } from '@codio/testing'

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
const B32 = 'abcdefghijklmnopqrstuvwxyz234567'

function pick (alphabet: string, n: number): string {
  return [...randomBytes(n)].map(b => alphabet[b % alphabet.length]).join('')
}

/** A string shaped like an Ed25519 libp2p peer ID in base58btc. */
export const peerId = (): string => `12D3KooW${pick(B58, 44)}`

/** A string shaped like a CIDv1 in base32. */
export const contentId = (): string => `bafkrei${pick(B32, 52)}`

export const complete = (contentId: string, chunkCount: number): Holding =>
  ({ contentId, chunkCount, haveCount: chunkCount, complete: true, bitfield: new Uint8Array(0) })

export const HOUR = 3600

export { until }
