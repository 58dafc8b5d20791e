import * as dagCbor from '@ipld/dag-cbor'
import { ManifestDecodeError } from './errors.js'
import { manifestProblem, type FecParams, type Manifest } from './manifest.js'
import { manifestNode } from './encode-manifest.js'

const REQUIRED = ['v', 'size', 'type', 'chunkSize', 'chunks', 'created', 'publisher', 'sig']
const KNOWN = new Set([...REQUIRED, 'fec'])
const FEC_KEYS = ['k', 'm', 'groups']

/**
 * Decodes and strictly validates manifest bytes written by {@link encodeManifest}
 * (DAG-CBOR spec). Does not check the signature: that is {@link verifyManifest}.
 *
 * @throws ManifestDecodeError whose `reason` names the rule broken: not DAG-CBOR, not a map,
 *   missing or unknown keys, wrong version, a field of the wrong type, `size` not a safe
 *   non-negative integer, `chunkSize` outside [MIN_CHUNK_SIZE, MAX_CHUNK_SIZE],
 *   `chunks.length !== ceil(size / chunkSize)`, a chunk or parity CID not CIDv1 raw sha2-256,
 *   bad FEC parameters, `publisher` not 32 bytes, `sig` not 64 bytes, or bytes that are not
 *   the canonical encoding (so one manifest has exactly one content ID)
 */
export function decodeManifest (bytes: Uint8Array): Manifest {
  let node: unknown
  try {
    node = dagCbor.decode(bytes)
  } catch (cause) {
    throw new ManifestDecodeError(`not DAG-CBOR: ${(cause as Error).message}`, { cause })
  }
  if (node === null || typeof node !== 'object' || Array.isArray(node) || node instanceof Uint8Array || Object.getPrototypeOf(node) !== Object.prototype) {
    throw new ManifestDecodeError('top level is not a map')
  }
  const o = node as Record<string, unknown>
  const unknown = Object.keys(o).filter(k => !KNOWN.has(k))
  if (unknown.length > 0) throw new ManifestDecodeError(`unknown keys: ${unknown.join(', ')}`)
  const missing = REQUIRED.filter(k => !(k in o))
  if (missing.length > 0) throw new ManifestDecodeError(`missing keys: ${missing.join(', ')}`)

  const m: Manifest = {
    version: o.v as 1,
    size: o.size as number,
    mediaType: o.type as string,
    chunkSize: o.chunkSize as number,
    chunks: o.chunks as Manifest['chunks'],
    createdAt: o.created as number,
    publisher: o.publisher as Uint8Array,
    signature: o.sig as Uint8Array
  }
  if ('fec' in o) m.fec = decodeFec(o.fec)
  const problem = manifestProblem(m, true)
  if (problem !== undefined) throw new ManifestDecodeError(problem)

  const canonical = dagCbor.encode(manifestNode(m, m.signature))
  if (!equalBytes(canonical, bytes)) throw new ManifestDecodeError('not the canonical DAG-CBOR encoding')
  return m
}

function decodeFec (v: unknown): FecParams {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) {
    throw new ManifestDecodeError('fec must be a map')
  }
  const f = v as Record<string, unknown>
  const keys = Object.keys(f)
  const unknown = keys.filter(k => !FEC_KEYS.includes(k))
  if (unknown.length > 0) throw new ManifestDecodeError(`unknown fec keys: ${unknown.join(', ')}`)
  const missing = FEC_KEYS.filter(k => !(k in f))
  if (missing.length > 0) throw new ManifestDecodeError(`missing fec keys: ${missing.join(', ')}`)
  return { dataShards: f.k as number, parityShards: f.m as number, groups: f.groups as FecParams['groups'] }
}

function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
