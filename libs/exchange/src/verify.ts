import { createHash } from 'node:crypto'
import type { CID } from 'multiformats/cid'

const SHA2_256 = 0x12

/**
 * True iff `bytes` hash to the multihash inside `cid`. Codio addresses every block by
 * sha2-256 (multihash code 0x12), so any other hash function is refused.
 */
export function blockMatchesCid (cid: CID, bytes: Uint8Array): boolean {
  if (cid.multihash.code !== SHA2_256) return false
  const digest = createHash('sha256').update(bytes).digest()
  return Buffer.compare(digest, cid.multihash.digest) === 0
}
