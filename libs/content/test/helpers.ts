import { generateKeyPair, type PublisherKeyPair } from '@codio/signing'
import { chunkCid } from '../src/chunk-cid.js'
import type { UnsignedManifest } from '../src/manifest.js'

export const KiB = 1024

export function bytesOf (n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n)
  let x = seed
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    out[i] = x >>> 24
  }
  return out
}

export async function * piecesOf (data: Uint8Array, sizes: number[]): AsyncGenerator<Uint8Array> {
  let offset = 0
  let i = 0
  while (offset < data.length) {
    const n = sizes[i++ % sizes.length]
    yield data.subarray(offset, offset + n)
    offset += n
  }
}

export async function collect (it: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for await (const c of it) out.push(c)
  return out
}

export function unsignedFor (data: Uint8Array, chunkSize: number, kp: PublisherKeyPair): UnsignedManifest {
  const chunks = []
  for (let o = 0; o < data.length; o += chunkSize) chunks.push(chunkCid(data.subarray(o, o + chunkSize)))
  return { version: 1, size: data.length, mediaType: 'application/octet-stream', chunkSize, chunks, createdAt: 1_700_000_000_000, publisher: kp.publicKey }
}

export { generateKeyPair }
