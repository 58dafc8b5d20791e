import { MemoryDatastore } from 'datastore-core/memory'
import type { AbortOptions } from '@libp2p/interface'
import type { Key } from 'interface-datastore'

/**
 * libp2p's in-memory datastore (the peer store's records, kad-dht's provider records), holding a
 * copy of each value that owns its memory instead of the caller's view.
 *
 * Why: kad-dht 16 writes a provider record's value (its timestamp) with `uint8-varint`'s
 * `encode`, which takes the bytes from Node's shared Buffer pool (`Buffer.allocUnsafe`: a view
 * into a `Buffer.poolSize` slab, 64 KiB on Node 24), and `MemoryDatastore` keeps that view. Each
 * record then pins a whole slab for its 24 h life: in the soak (`npm run soak`) an origin held 183
 * provider records on 62 slabs (3.9 MiB) five minutes in, growing with every content published
 * anywhere in the network (64 KiB for 6 bytes). A value that already owns its whole buffer is
 * stored as it is.
 */
export class OwnedValueDatastore extends MemoryDatastore {
  override put (key: Key, val: Uint8Array, options?: AbortOptions): Key | Promise<Key> {
    return super.put(key, owned(val), options)
  }
}

/** `bytes` itself when it spans its whole ArrayBuffer, else a copy that does. */
export function owned (bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes)
}
