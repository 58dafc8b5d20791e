import type { CID } from 'multiformats/cid'

/** A chunk sink and block source in memory, keyed by CID string. */
export class MapStore {
  readonly blocks = new Map<string, Uint8Array>()
  async has (cid: CID): Promise<boolean> { return this.blocks.has(cid.toString()) }
  async get (cid: CID): Promise<Uint8Array | undefined> { return this.blocks.get(cid.toString()) }
  async put (cid: CID, bytes: Uint8Array): Promise<void> { this.blocks.set(cid.toString(), bytes) }
}

export { seeded } from '@codio/testing'
