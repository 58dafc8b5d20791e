import * as dagCbor from '@ipld/dag-cbor'
import { MANIFEST_SIGNING_PREFIX, MAX_MANIFEST_BYTES } from './constants.js'
import { InvalidManifestError } from './errors.js'
import { manifestProblem, type FecParams, type Manifest, type UnsignedManifest } from './manifest.js'

/** @internal the DAG-CBOR data model node of a manifest, with the short wire keys. */
export function manifestNode (m: UnsignedManifest, signature?: Uint8Array): Record<string, unknown> {
  const node: Record<string, unknown> = {
    v: m.version,
    size: m.size,
    type: m.mediaType,
    chunkSize: m.chunkSize,
    chunks: m.chunks,
    created: m.createdAt,
    publisher: m.publisher
  }
  if (m.fec !== undefined) node.fec = fecNode(m.fec)
  if (signature !== undefined) node.sig = signature
  return node
}

function fecNode (fec: FecParams): Record<string, unknown> {
  return { k: fec.dataShards, m: fec.parityShards, groups: fec.groups.map(g => ({ parity: g.parity })) }
}

/**
 * Encodes a signed manifest as DAG-CBOR (DAG-CBOR spec: canonical, map keys sorted by length
 * then bytewise, CIDs as tag 42), with the short stable keys
 * `{ v, size, type, chunkSize, chunks, fec?, created, publisher, sig }`; `fec` is
 * `{ k, m, groups: [{ parity: [CID…] }] }`. The same manifest always gives the same bytes, so
 * the same content ID ({@link manifestCid}).
 *
 * @throws InvalidManifestError if the manifest breaks a rule {@link decodeManifest} enforces, or
 *   its encoding exceeds `MAX_MANIFEST_BYTES`
 */
export function encodeManifest (m: Manifest): Uint8Array {
  const problem = manifestProblem(m, true)
  if (problem !== undefined) throw new InvalidManifestError(problem)
  const bytes = dagCbor.encode(manifestNode(m, m.signature))
  if (bytes.byteLength > MAX_MANIFEST_BYTES) {
    throw new InvalidManifestError(`manifest of ${bytes.byteLength} bytes exceeds the limit of ${MAX_MANIFEST_BYTES} bytes (MAX_MANIFEST_BYTES, what the chunk exchange carries)`)
  }
  return bytes
}

/**
 * The bytes a manifest signature covers: UTF-8 `"codio-manifest-v1\n"` followed by the
 * DAG-CBOR encoding of the manifest without `sig` (domain separation, so a manifest signature
 * can never be replayed as a signature over anything else).
 *
 * @throws InvalidManifestError if the manifest breaks a manifest rule
 */
export function manifestSigningBytes (m: UnsignedManifest): Uint8Array {
  const problem = manifestProblem(m, false)
  if (problem !== undefined) throw new InvalidManifestError(problem)
  const body = dagCbor.encode(manifestNode(m))
  const prefix = new TextEncoder().encode(MANIFEST_SIGNING_PREFIX)
  const out = new Uint8Array(prefix.length + body.length)
  out.set(prefix, 0)
  out.set(body, prefix.length)
  return out
}
