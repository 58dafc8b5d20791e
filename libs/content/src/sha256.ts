import { sha256 as nativeSha256, sha256Batch } from '@codio/native'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { SHA2_256_CODE } from './constants.js'

/**
 * Blocks at least this long are hashed off the JavaScript thread by {@link sha256Async}
 * (bytes): the 10–20 µs thread hop is small next to hashing 256 KiB (~130 µs), and the event
 * loop stays free for I/O while several blocks hash in parallel.
 */
export const OFF_THREAD_HASH_BYTES = 256 * 1024

function asBuffer (bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/**
 * SHA-256 (FIPS 180-4) with the native addon (SHA-NI where the CPU has it). Measured against
 * node:crypto on this project's machines it is 1.11× at 16 KiB and 1.02× at 1 MiB
 * (`npm run bench:native`), so it is the hashing path of chunk IDs and verification.
 */
export function sha256 (bytes: Uint8Array): Uint8Array {
  const d = nativeSha256(asBuffer(bytes))
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength)
}

/**
 * SHA-256 of `bytes`, computed on the libuv thread pool when it is at least
 * {@link OFF_THREAD_HASH_BYTES} long (in place otherwise). Do not modify `bytes` until it
 * settles. Several calls in flight hash in parallel: 1.95× one thread for 1 MiB blocks on 2 cores.
 */
export async function sha256Async (bytes: Uint8Array): Promise<Uint8Array> {
  if (bytes.byteLength < OFF_THREAD_HASH_BYTES) return sha256(bytes)
  const [d] = await sha256Batch([asBuffer(bytes)])
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
