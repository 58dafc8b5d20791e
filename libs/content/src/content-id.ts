import type { CID } from 'multiformats/cid'
import { DAG_CBOR_CODEC } from './constants.js'
import { parseCid } from './chunk-cid.js'
import { sha256Cid } from './sha256.js'

/**
 * The content ID: `CIDv1(dag-cbor 0x71, sha2-256(bytes))` of encoded manifest bytes
 * (multiformats CID spec). Synchronous; hashes with node:crypto.
 */
export function manifestCid (bytes: Uint8Array): CID {
  return sha256Cid(DAG_CBOR_CODEC, bytes)
}

/**
 * Parses a content ID string (base32 `b…` or base58btc `z…`).
 *
 * @throws InvalidCidError unless it is a CIDv1, dag-cbor codec, 32-byte sha2-256 CID
 */
export function parseContentId (s: string): CID {
  return parseCid(s, DAG_CBOR_CODEC, 'dag-cbor', 'content id')
}
