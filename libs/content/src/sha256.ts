import { createHash } from 'node:crypto'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { SHA2_256_CODE } from './constants.js'

/** SHA-256 through node:crypto (OpenSSL, SHA-NI where the CPU has it). */
export function sha256 (bytes: Uint8Array): Uint8Array {
  const d = createHash('sha256').update(bytes).digest()
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength)
}

/** CIDv1(codec, sha2-256(bytes)). */
export function sha256Cid (codec: number, bytes: Uint8Array): CID {
  return CID.createV1(codec, Digest.create(SHA2_256_CODE, sha256(bytes)))
}

/** Why `cid` is not a CIDv1 of `codec` over a 32-byte sha2-256 digest, or undefined if it is. */
export function cidProblem (cid: CID, codec: number, codecName: string): string | undefined {
  if (cid.version !== 1) return `expected CIDv1, got CIDv${cid.version}`
  if (cid.code !== codec) return `expected codec ${codecName} (0x${codec.toString(16)}), got 0x${cid.code.toString(16)}`
  if (cid.multihash.code !== SHA2_256_CODE) return `expected sha2-256 multihash, got 0x${cid.multihash.code.toString(16)}`
  if (cid.multihash.size !== 32 || cid.multihash.digest.length !== 32) return 'expected a 32-byte sha2-256 digest'
  return undefined
}
