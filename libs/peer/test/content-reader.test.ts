import { afterAll, describe, expect, it } from '@jest/globals'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chunkCid } from '@codio/content'
import { generateKeyPair } from '@codio/signing'
import { BlockStore } from '@codio/store'
import type { CID } from 'multiformats/cid'
import { readRange, STORE_READ_AHEAD } from '../src/content-reader.js'
import { makeContent, randomChunks } from './content.js'

describe('readRange of a local content', () => {
  const dirs: string[] = []
  afterAll(async () => { await Promise.all(dirs.map(async d => { await rm(d, { recursive: true, force: true }) })) })

  it(`reads the next ${STORE_READ_AHEAD} chunks from the store while the reader holds one, and yields them in order`, async () => {
    const content = await makeContent(await generateKeyPair(), randomChunks(STORE_READ_AHEAD + 4))
    const dir = await mkdtemp(join(tmpdir(), 'codio-reader-'))
    dirs.push(dir)
    const store = await BlockStore.open(dir)
    for (const c of content.chunks) await store.put(chunkCid(c), c)
    let reading = 0
    let most = 0
    const get = store.get.bind(store)
    store.get = async (cid: CID) => {
      most = Math.max(most, ++reading)
      try {
        return await get(cid)
      } finally {
        reading--
      }
    }
    const reader = readRange(content.manifest, store, { start: 0, end: content.manifest.size - 1 })
    const first = await reader.next()
    // the reader holds chunk 0 (it is writing it out): the next ones were asked of the store with it
    expect(most).toBe(1 + STORE_READ_AHEAD)
    const out = [first.value as Uint8Array]
    for await (const bytes of reader) out.push(bytes)
    expect(Buffer.compare(Buffer.concat(out), Buffer.concat(content.chunks))).toBe(0)
    expect(out).toHaveLength(content.chunks.length)
    expect(most).toBe(1 + STORE_READ_AHEAD)
    await store.close()
  })
})
