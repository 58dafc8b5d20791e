import { CID } from 'multiformats/cid'
import { RAW_CODEC } from './constants.js'
import { InvalidCidError } from './errors.js'
import { cidProblem, sha256, sha256Cid } from './sha256.js'

/**
 * The id of a chunk: `CIDv1(raw 0x55, sha2-256(bytes))` (multiformats CID spec). Synchronous;
 * hashes with node:crypto.
 */
export function chunkCid (bytes: Uint8Array): CID {
  return sha256Cid(RAW_CODEC, bytes)
}

/**
 * `true` iff `cid` is a CIDv1 with the raw codec and a sha2-256 multihash whose digest equals
 * sha2-256(`bytes`). Never throws for a CID argument.
 */
export function verifyChunk (cid: CID, bytes: Uint8Array): boolean {
  try {
    if (cidProblem(cid, RAW_CODEC, 'raw') !== undefined) return false
    const expected = cid.multihash.digest
    const actual = sha256(bytes)
    for (let i = 0; i < 32; i++) if (expected[i] !== actual[i]) return false
    return true
  } catch {
    return false // not a CID, or bytes not bytes
  }
}

/**
 * Parses a chunk id given as a CID string (base32 `b…` or base58btc `z…`) or as CID bytes.
 *
 * @throws InvalidCidError unless it is a CIDv1, raw codec, 32-byte sha2-256 CID
 */
export function parseChunkId (s: string | Uint8Array): CID {
  return parseCid(s, RAW_CODEC, 'raw', 'chunk id')
}

/** @internal shared by parseChunkId and parseContentId */
export function parseCid (s: string | Uint8Array, codec: number, codecName: string, what: string): CID {
  let cid: CID
  try {
    if (typeof s === 'string') cid = CID.parse(s)
    else if (s instanceof Uint8Array) cid = CID.decode(s)
    else throw new TypeError('expected a string or bytes')
  } catch (cause) {
    throw new InvalidCidError(`${what} is not a CID: ${(cause as Error).message}`, { cause })
  }
  const problem = cidProblem(cid, codec, codecName)
  if (problem !== undefined) throw new InvalidCidError(`${what} ${String(s instanceof Uint8Array ? cid : s)}: ${problem}`)
  return cid
}
