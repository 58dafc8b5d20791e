import { sha256Async } from '@codio/content'
import type { CID } from 'multiformats/cid'

const SHA2_256 = 0x12
/** Multicodec `raw` (chunks) and `dag-cbor` (manifests): the only block codecs exchanged. */
const BLOCK_CODECS: ReadonlySet<number> = new Set([0x55, 0x71])
const DAG_CBOR = 0x71

/**
 * Why `cid` is not a block ID the exchange carries (a CIDv1, raw or dag-cbor codec, sha2-256
 * multihash with a 32-byte digest), or `undefined` when it is one. Checked before any store
 * is asked, so a hostile ID (a 300-byte digest, another codec) costs no disk access.
 */
export function blockIdProblem (cid: CID): string | undefined {
  if (cid.version !== 1) return `CID version ${cid.version}, not 1`
  if (!BLOCK_CODECS.has(cid.code)) return `codec 0x${cid.code.toString(16)}, not raw (0x55) or dag-cbor (0x71)`
  if (cid.multihash.code !== SHA2_256) return `multihash 0x${cid.multihash.code.toString(16)}, not sha2-256 (0x12)`
  if (cid.multihash.digest.byteLength !== 32) return `a ${cid.multihash.digest.byteLength}-byte digest, not 32`
  return undefined
}

/**
 * Why `cid` is not a content ID (the CID of a manifest: a {@link blockIdProblem}-valid CID with
 * the dag-cbor codec), or `undefined` when it is one. The swarm session handshake checks it
 * before asking its host (and so the store) about the content.
 */
export function contentIdProblem (cid: CID): string | undefined {
  return blockIdProblem(cid) ?? (cid.code === DAG_CBOR ? undefined : `codec 0x${cid.code.toString(16)}, not dag-cbor (0x71): a content ID names a manifest`)
}

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
