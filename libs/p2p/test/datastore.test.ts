import { describe, expect, it } from '@jest/globals'
import { until } from '@codio/testing'
import { Key } from 'interface-datastore'
import { encode } from 'uint8-varint'
import { OwnedValueDatastore, owned } from '../src/datastore.js'
import { startTestNode, stopTestNodes } from '../src/testing.js'
import type { P2PNode } from '../src/index.js'

describe('OwnedValueDatastore', () => {
  it('stores a pooled view (what kad-dht writes for a provider record) as a copy that owns only its bytes', async () => {
    const ds = new OwnedValueDatastore()
    // kad-dht 16 Providers.writeProviderEntry: varint.encode(Date.now()) is a Buffer-pool slice
    const record = encode(Date.now())
    expect(record.buffer.byteLength).toBeGreaterThan(record.byteLength)
    const key = new Key('/dht/provider/x/y')
    await ds.put(key, record)
    const stored = await ds.get(key)
    expect(stored.buffer.byteLength).toBe(record.byteLength)
    expect([...stored]).toEqual([...record])
    const batch = ds.batch()
    batch.put(new Key('/dht/provider/x/z'), Buffer.from('abcdef').subarray(1, 3))
    await batch.commit()
    const fromBatch = await ds.get(new Key('/dht/provider/x/z'))
    expect(fromBatch.buffer.byteLength).toBe(2)
    expect(new TextDecoder().decode(fromBatch)).toBe('bc')
  })

  it('keeps a value that owns its whole buffer as it is', () => {
    const whole = new Uint8Array([1, 2, 3])
    expect(owned(whole)).toBe(whole)
    const view = whole.subarray(1)
    expect(owned(view)).not.toBe(view)
    expect([...owned(view)]).toEqual([2, 3])
  })

  it('is the datastore of every node: a provider record received over the DHT is held as its own bytes', async () => {
    const nodes: Array<P2PNode<any>> = []
    try {
      const a = await startTestNode({}, nodes)
      const b = await startTestNode({ bootstrap: [a.getMultiaddrs()[0].toString()] }, nodes)
      const datastore = (a as any).components.datastore as OwnedValueDatastore
      expect(datastore).toBeInstanceOf(OwnedValueDatastore)
      const { CID } = await import('multiformats/cid')
      const { sha256 } = await import('multiformats/hashes/sha2')
      const cid = CID.createV1(0x55, await sha256.digest(new TextEncoder().encode(`record ${Date.now()}`)))
      await until(async () => (await b.services.dht.routingTable.size) > 0, 15_000, 'b to learn a through the DHT')
      await b.contentRouting.provide(cid, { signal: AbortSignal.timeout(15_000) })
      const records: Uint8Array[] = []
      await until(async () => {
        records.length = 0
        for await (const { value } of datastore.query({ prefix: '/dht/provider' })) records.push(value)
        return records.length > 0
      }, 15_000, 'a to store b\'s provider record')
      for (const value of records) expect(value.buffer.byteLength).toBe(value.byteLength)
    } finally {
      await stopTestNodes(nodes)
    }
  })
})
