import { describe, it, expect } from '@jest/globals'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { BlockStore } from '../src/block-store.js'
import { StagingClosedError, StoreIOError } from '../src/errors.js'
import { block, filesUnder, tempDir } from './helpers.js'

describe('StagingArea', () => {
  it('blocks are invisible until commit, then all visible', async () => {
    const dir = await tempDir()
    const store = await BlockStore.open(dir)
    const blocks = ['a', 'bb', 'ccc'].map(t => block(t))
    const ingest = await store.staging()
    await Promise.all(blocks.map(async b => ingest.put(b.cid, b.bytes)))
    for (const b of blocks) expect(await store.has(b.cid)).toBe(false)
    expect(await store.stats()).toEqual({ blocks: 0, bytes: 0 })

    await ingest.commit()
    for (const b of blocks) expect(await store.get(b.cid)).toEqual(b.bytes)
    expect(await store.stats()).toEqual({ blocks: 3, bytes: 6 })
    expect(await readdir(join(dir, 'staging'))).toEqual([])
    await expect(ingest.put(block('late').cid, block('late').bytes)).rejects.toBeInstanceOf(StagingClosedError)
    await expect(ingest.commit()).rejects.toBeInstanceOf(StagingClosedError)
    await ingest.abort() // no-op after commit
    expect(await store.has(blocks[0].cid)).toBe(true)
  })

  it('commit waits for puts still in flight', async () => {
    const store = await BlockStore.open(await tempDir())
    const ingest = await store.staging()
    const blocks = Array.from({ length: 50 }, (_, i) => block(`chunk ${i}`))
    const puts = blocks.map(async b => ingest.put(b.cid, b.bytes))
    await ingest.commit()
    await Promise.all(puts)
    expect((await store.stats()).blocks).toBe(50)
  })

  it('commit keeps one copy of a block the store already holds', async () => {
    const dir = await tempDir()
    const store = await BlockStore.open(dir)
    const a = block('alpha')
    await store.put(a.cid, a.bytes)
    const ingest = await store.staging()
    await ingest.put(a.cid, a.bytes)
    await ingest.put(a.cid, a.bytes)
    await ingest.commit()
    expect(await store.stats()).toEqual({ blocks: 1, bytes: 5 })
    expect(await filesUnder(dir)).toHaveLength(1)
  })

  it('abort leaves no files anywhere under the store directory, and is idempotent', async () => {
    const dir = await tempDir()
    const store = await BlockStore.open(dir)
    const ingest = await store.staging()
    const blocks = Array.from({ length: 10 }, (_, i) => block(`chunk ${i}`))
    await Promise.all(blocks.map(async b => ingest.put(b.cid, b.bytes)))
    expect((await filesUnder(dir)).length).toBe(10)
    await ingest.abort()
    await ingest.abort()
    expect(await filesUnder(dir)).toEqual([])
    expect(await readdir(join(dir, 'staging'))).toEqual([])
    for (const b of blocks) expect(await store.has(b.cid)).toBe(false)
    await expect(ingest.put(blocks[0].cid, blocks[0].bytes)).rejects.toBeInstanceOf(StagingClosedError)
    await expect(ingest.commit()).rejects.toThrow(/aborted/)
  })

  it('a staging area left open by a crash is removed on reopen; its blocks never appear', async () => {
    const dir = await tempDir()
    const store = await BlockStore.open(dir)
    const ingest = await store.staging()
    const a = block('alpha')
    await ingest.put(a.cid, a.bytes)
    // no commit, no close: the process "dies" here
    const reopened = await BlockStore.open(dir)
    expect(await reopened.has(a.cid)).toBe(false)
    expect(await filesUnder(dir)).toEqual([])
  })

  it('error classes carry their own name', () => {
    expect(new StagingClosedError('x').name).toBe('StagingClosedError')
    expect(new StoreIOError('x').name).toBe('StoreIOError')
  })
})
