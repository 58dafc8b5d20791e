import { describe, it, expect } from '@jest/globals'
import { mkdir, writeFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { BlockStore } from '../src/block-store.js'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { InvalidBlockIdError, StoreClosedError } from '../src/errors.js'
import { block, filesUnder, tempDir } from './helpers.js'

describe('BlockStore', () => {
  it('put / get / has round trip', async () => {
    const store = await BlockStore.open(await tempDir())
    const a = block('alpha')
    const b = block('beta')
    expect(await store.has(a.cid)).toBe(false)
    expect(await store.get(a.cid)).toBeUndefined()
    await store.put(a.cid, a.bytes)
    expect(await store.has(a.cid)).toBe(true)
    expect(await store.get(a.cid)).toEqual(a.bytes)
    expect(await store.has(b.cid)).toBe(false)
    expect(await store.stats()).toEqual({ blocks: 1, bytes: 5 })
  })

  it('put is idempotent and concurrent puts of one CID store it once', async () => {
    const dir = await tempDir()
    const store = await BlockStore.open(dir)
    const a = block('alpha')
    await Promise.all(Array.from({ length: 20 }, async () => store.put(a.cid, a.bytes)))
    await store.put(a.cid, a.bytes)
    expect(await store.stats()).toEqual({ blocks: 1, bytes: 5 })
    const files = await filesUnder(dir)
    expect(files).toEqual([`blocks/${a.cid.toString().slice(-3, -1)}/${a.cid.toString()}`])
  })

  it('delete removes a block and is a no-op when absent', async () => {
    const store = await BlockStore.open(await tempDir())
    const a = block('alpha')
    await store.put(a.cid, a.bytes)
    await store.delete(a.cid)
    await store.delete(a.cid)
    expect(await store.has(a.cid)).toBe(false)
    expect(await store.get(a.cid)).toBeUndefined()
    expect(await store.stats()).toEqual({ blocks: 0, bytes: 0 })
  })

  it('delete says how many bytes it freed, and the file is gone', async () => {
    const dir = await tempDir()
    const store = await BlockStore.open(dir)
    const a = block('alpha')
    await store.put(a.cid, a.bytes)
    expect(await store.delete(a.cid)).toBe(5)
    expect(await store.delete(a.cid)).toBe(0)
    expect(await filesUnder(dir)).toEqual([])
  })

  it('lists its blocks, all or of one codec, without staged ones', async () => {
    const store = await BlockStore.open(await tempDir())
    const chunks = ['one', 'two', 'three'].map(t => block(t))
    const manifest = block('manifest', 0x71)
    for (const b of [...chunks, manifest]) await store.put(b.cid, b.bytes)
    const staged = await store.staging()
    await staged.put(block('staged').cid, block('staged').bytes)
    const all: string[] = []
    for await (const c of store.cids()) all.push(c.toString())
    expect(all.sort()).toEqual([...chunks, manifest].map(b => b.cid.toString()).sort())
    const manifests: string[] = []
    for await (const c of store.cids({ codec: 0x71 })) manifests.push(c.toString())
    expect(manifests).toEqual([manifest.cid.toString()])
    await staged.abort()
  })

  it('survives close and reopen on the same directory', async () => {
    const dir = await tempDir()
    const first = await BlockStore.open(dir)
    const blocks = ['one', 'two', 'three'].map(t => block(t))
    for (const b of blocks) await first.put(b.cid, b.bytes)
    await first.close()
    await expect(first.has(blocks[0].cid)).rejects.toBeInstanceOf(StoreClosedError)

    const second = await BlockStore.open(dir)
    for (const b of blocks) expect(await second.get(b.cid)).toEqual(b.bytes)
    expect(await second.stats()).toEqual({ blocks: 3, bytes: 3 + 3 + 5 })
  })

  it('contents list survives reopen; removeContent forgets one', async () => {
    const dir = await tempDir()
    const store = await BlockStore.open(dir)
    const c1 = block('manifest 1', 0x71).cid
    const c2 = block('manifest 2', 0x71).cid
    await store.addContent(c1)
    await store.addContent(c2)
    await store.addContent(c1)
    expect(await store.hasContent(c1)).toBe(true)
    await store.close()

    const reopened = await BlockStore.open(dir)
    expect((await reopened.listContents()).map(String)).toEqual([c1, c2].map(String).sort())
    await reopened.removeContent(c1)
    await reopened.removeContent(c1)
    expect(await reopened.hasContent(c1)).toBe(false)
    expect((await reopened.listContents()).map(String)).toEqual([c2.toString()])
  })

  it('cleans staging directories and temporary files left by a crash on open', async () => {
    const dir = await tempDir()
    const store = await BlockStore.open(dir)
    const a = block('alpha')
    await store.put(a.cid, a.bytes)
    await store.addContent(block('m', 0x71).cid)
    const shard = join(dir, 'blocks', a.cid.toString().slice(-3, -1))
    // what a crash mid-write leaves behind
    await mkdir(join(dir, 'staging', 'crashed-ingest', 'nested'), { recursive: true })
    await writeFile(join(dir, 'staging', 'crashed-ingest', 'bafkreiblock'), 'partial')
    await writeFile(join(dir, 'staging', 'crashed-ingest', 'nested', 'x'), 'x')
    await writeFile(join(shard, `${a.cid.toString()}.abc123.tmp`), 'half a block')
    await mkdir(join(dir, 'blocks', 'zz'), { recursive: true })
    await writeFile(join(dir, 'blocks', 'zz', 'bafkreizzz.def456.tmp'), 'junk')
    await writeFile(join(dir, 'contents', 'bafyreisomething.0a0b.tmp'), '')

    const reopened = await BlockStore.open(dir)
    expect(await readdir(join(dir, 'staging'))).toEqual([])
    const left = await filesUnder(dir)
    expect(left.filter(f => f.endsWith('.tmp'))).toEqual([])
    expect(left).toHaveLength(2) // the block and the content marker
    expect(await reopened.stats()).toEqual({ blocks: 1, bytes: 5 })
    expect(await reopened.get(a.cid)).toEqual(a.bytes)
    expect(await reopened.listContents()).toHaveLength(1)
  })

  it('shards by the next-to-last two characters, not the common CID prefix', async () => {
    const dir = await tempDir()
    const store = await BlockStore.open(dir)
    for (let i = 0; i < 40; i++) {
      const b = block(`block ${i}`)
      await store.put(b.cid, b.bytes)
    }
    expect((await readdir(join(dir, 'blocks'))).length).toBeGreaterThan(10)
  })

  it('error classes carry their own name', () => {
    expect(new StoreClosedError().name).toBe('StoreClosedError')
  })

  it('refuses a CID it cannot name (a 300-byte digest) as an invalid argument, touching no file', async () => {
    // issue 19 defect 3: such a CID gave "file name too long" as a StoreIOError (an I/O failure)
    const dir = await tempDir()
    const store = await BlockStore.open(dir)
    const long = CID.createV1(0x55, Digest.create(0x12, new Uint8Array(300).fill(7)))
    await expect(store.get(long)).rejects.toBeInstanceOf(InvalidBlockIdError)
    await expect(store.has(long)).rejects.toBeInstanceOf(InvalidBlockIdError)
    await expect(store.put(long, new Uint8Array([1]))).rejects.toBeInstanceOf(InvalidBlockIdError)
    await expect(store.delete(long)).rejects.toBeInstanceOf(InvalidBlockIdError)
    const staging = await store.staging()
    await expect(staging.put(long, new Uint8Array([1]))).rejects.toBeInstanceOf(InvalidBlockIdError)
    await staging.abort()
    expect(await filesUnder(join(dir, 'blocks'))).toEqual([])
  })
})
