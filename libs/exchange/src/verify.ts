import { sha256Async } from '@codio/content'
import type { CID } from 'multiformats/cid'

const SHA2_256 = 0x12

/**
 * True iff `bytes` hash to the multihash inside `cid`. Codio addresses every block by
 * sha2-256 (multihash code 0x12), so any other hash function is refused. Large blocks are
 * hashed off the JavaScript thread (`sha256Async` of @codio/content); do not modify `bytes`
 * until it settles.
 */
export async function blockMatchesCid (cid: CID, bytes: Uint8Array): Promise<boolean> {
  if (cid.multihash.code !== SHA2_256) return false
  const digest = await sha256Async(bytes)
  return Buffer.compare(digest, cid.multihash.digest) === 0
}
