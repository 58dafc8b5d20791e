import { randomBytes } from 'node:crypto'
import { mkdir, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { CID } from 'multiformats/cid'
import { StoreClosedError, StoreIOError } from './errors.js'
import { KeyLock } from './key-lock.js'
import {
  BLOCKS_DIR, blockPath, cidKey, CONTENTS_DIR, isErrno, shardOf, STAGING_DIR, syncDir, TMP_SUFFIX, tmpName, writeDurable
} from './layout.js'
import { Staging, type StagingArea, type StagingHost } from './staging-area.js'

/** Block and byte totals of a store. */
export interface BlockStoreStats {
  /** number of blocks held */
  blocks: number
  /** sum of their sizes, bytes */
  bytes: number
}

/**
 * A durable, content-addressed block store on the local file system.
 *
 * Layout under `dir`:
 * - `blocks/<2-char shard>/<CIDv1 base32>`: one file per block (shard = go-ds-flatfs
 *   `next-to-last/2`)
 * - `contents/<content ID>`: an empty marker per whole content held
 * - `staging/<id>/`: blocks of an ingest in progress
 *
 * Writes are atomic (temporary file in the same directory, fsync, rename, fsync of the
 * directory), so after a crash a block is either whole or absent. Every operation goes through
 * `fs/promises` (the libuv thread pool), never blocking the event loop.
 *
 * The store trusts its callers to pass bytes that match the CID: verify chunks (for example
 * with `verifyChunk` of `@codio/content`) before `put`. One process owns a directory at a time;
 * `open` removes staging directories and temporary files left by a previous run.
 */
export class BlockStore {
  /** the store's root directory */
  readonly dir: string
  readonly #lock = new KeyLock()
  readonly #shards = new Set<string>()
  readonly #stagings = new Set<Staging>()
  #blocks = 0
  #bytes = 0
  #closed = false

  private constructor (dir: string) {
    this.dir = dir
  }

  /**
   * Opens (creating if needed) the store at `dir`, removes leftovers of a crash (every staging
   * directory, every `*.tmp` file) and counts the blocks held.
   *
   * @throws StoreIOError if the directory cannot be created or read
   */
  static async open (dir: string): Promise<BlockStore> {
    const store = new BlockStore(dir)
    try {
      await store.#recover()
    } catch (cause) {
      throw new StoreIOError(`cannot open block store at ${dir}: ${(cause as Error).message}`, { cause })
    }
    return store
  }

  async #recover (): Promise<void> {
    for (const sub of [BLOCKS_DIR, CONTENTS_DIR, STAGING_DIR]) await mkdir(join(this.dir, sub), { recursive: true })

    const staging = join(this.dir, STAGING_DIR)
    const stale = await readdir(staging)
    await Promise.all(stale.map(async name => rm(join(staging, name), { recursive: true, force: true })))
    if (stale.length > 0) await syncDir(staging)

    const contents = join(this.dir, CONTENTS_DIR)
    const contentTmps = (await readdir(contents)).filter(n => n.endsWith(TMP_SUFFIX))
    await Promise.all(contentTmps.map(async n => unlink(join(contents, n))))
    if (contentTmps.length > 0) await syncDir(contents)

    const blocks = join(this.dir, BLOCKS_DIR)
    for (const shard of await readdir(blocks, { withFileTypes: true })) {
      if (!shard.isDirectory()) continue
      const shardDir = join(blocks, shard.name)
      this.#shards.add(shardDir)
      const names = await readdir(shardDir)
      let removed = false
      const sizes = await Promise.all(names.map(async name => {
        const path = join(shardDir, name)
        if (name.endsWith(TMP_SUFFIX)) {
          await unlink(path)
          removed = true
          return -1
        }
        return (await stat(path)).size
      }))
      for (const size of sizes) {
        if (size < 0) continue
        this.#blocks++
        this.#bytes += size
      }
      if (removed) await syncDir(shardDir)
    }
  }

  /** `true` iff the block is in the store (staged blocks are not). @throws InvalidBlockIdError, StoreIOError */
  async has (cid: CID): Promise<boolean> {
    this.#assertOpen()
    return exists(blockPath(this.dir, cidKey(cid)))
  }

  /** The block's bytes, or `undefined` if the store does not hold it. @throws InvalidBlockIdError, StoreIOError */
  async get (cid: CID): Promise<Uint8Array | undefined> {
    this.#assertOpen()
    const path = blockPath(this.dir, cidKey(cid))
    try {
      const buf = await readFile(path)
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return undefined
      throw new StoreIOError(`cannot read block ${cid.toString()}: ${(err as Error).message}`, { cause: err })
    }
  }

  /**
   * Stores a block durably and atomically (temporary file in the shard directory, fsync,
   * rename, fsync of the directory). Idempotent; concurrent puts of one CID write it once.
   *
   * @throws StoreIOError on an I/O failure (nothing partial is left behind)
   * @throws InvalidBlockIdError for a CID the store cannot name (nothing is written)
   */
  async put (cid: CID, bytes: Uint8Array): Promise<void> {
    this.#assertOpen()
    const key = cidKey(cid)
    await this.#lock.run(key, async () => {
      const path = blockPath(this.dir, key)
      if (await exists(path)) return
      let tmp: string | undefined
      try {
        const shard = await this.#ensureShard(key)
        tmp = join(shard, tmpName(key))
        await writeDurable(tmp, bytes)
        await rename(tmp, path)
        tmp = undefined
        await syncDir(shard)
      } catch (cause) {
        if (tmp !== undefined) await unlink(tmp).catch(() => {})
        throw new StoreIOError(`cannot write block ${key}: ${(cause as Error).message}`, { cause })
      }
      this.#blocks++
      this.#bytes += bytes.length
    })
  }

  /**
   * Removes a block; a no-op if absent. Serialised with puts of the same CID, so a put that
   * started first lands first and is removed.
   *
   * @returns the bytes freed: the block's size, or 0 when it was absent
   * @throws StoreIOError
   */
  async delete (cid: CID): Promise<number> {
    this.#assertOpen()
    const key = cidKey(cid)
    return await this.#lock.run(key, async () => {
      const path = blockPath(this.dir, key)
      let size: number
      try {
        size = (await stat(path)).size
        await unlink(path)
      } catch (err) {
        if (isErrno(err, 'ENOENT')) return 0
        throw new StoreIOError(`cannot delete block ${key}: ${(err as Error).message}`, { cause: err })
      }
      this.#blocks--
      this.#bytes -= size
      try {
        await syncDir(join(this.dir, BLOCKS_DIR, shardOf(key)))
      } catch (err) {
        throw new StoreIOError(`cannot sync the removal of block ${key}: ${(err as Error).message}`, { cause: err })
      }
      return size
    })
  }

  /**
   * Every block held (staged blocks excluded), shard by shard in no particular order; with
   * `codec`, only CIDs of that multicodec (e.g. `0x71` dag-cbor: the manifests). Names that are
   * not CIDs are skipped. Blocks put or deleted during the walk may or may not be listed.
   *
   * @throws StoreIOError when a shard directory cannot be read
   */
  async * cids (filter: { codec?: number } = {}): AsyncGenerator<CID> {
    this.#assertOpen()
    const blocks = join(this.dir, BLOCKS_DIR)
    let shards: string[]
    try {
      shards = (await readdir(blocks, { withFileTypes: true })).filter(d => d.isDirectory()).map(d => d.name)
    } catch (cause) {
      throw new StoreIOError(`cannot list blocks: ${(cause as Error).message}`, { cause })
    }
    for (const shard of shards) {
      let names: string[]
      try {
        names = await readdir(join(blocks, shard))
      } catch (cause) {
        if (isErrno(cause, 'ENOENT')) continue
        throw new StoreIOError(`cannot list blocks: ${(cause as Error).message}`, { cause })
      }
      for (const name of names) {
        if (name.endsWith(TMP_SUFFIX)) continue
        let cid: CID
        try {
          cid = CID.parse(name)
        } catch {
          continue // not ours
        }
        if (filter.codec === undefined || cid.code === filter.codec) yield cid
      }
    }
  }

  /** Number of blocks and their total size in bytes (kept in memory; counted at open). */
  async stats (): Promise<BlockStoreStats> {
    this.#assertOpen()
    return { blocks: this.#blocks, bytes: this.#bytes }
  }

  /** A new staging area for one ingest. @throws StoreIOError */
  async staging (): Promise<StagingArea> {
    this.#assertOpen()
    const id = `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`
    const dir = join(this.dir, STAGING_DIR, id)
    try {
      await mkdir(dir)
    } catch (cause) {
      throw new StoreIOError(`cannot create staging area: ${(cause as Error).message}`, { cause })
    }
    const host: StagingHost = {
      adopt: async (key, from, size) => this.#adopt(key, from, size),
      syncDirs: async dirs => { await Promise.all([...dirs].map(syncDir)) },
      released: area => { this.#stagings.delete(area) }
    }
    const area = new Staging(id, dir, host)
    this.#stagings.add(area)
    return area
  }

  async #adopt (key: string, from: string, size: number): Promise<string | undefined> {
    this.#assertOpen()
    return this.#lock.run(key, async () => {
      const path = blockPath(this.dir, key)
      if (await exists(path)) {
        await unlink(from)
        return undefined
      }
      const shard = await this.#ensureShard(key)
      await rename(from, path)
      this.#blocks++
      this.#bytes += size
      return shard
    })
  }

  /**
   * Records, durably, that the whole content `contentId` (manifest and every chunk) is held.
   * The store does not check that the blocks are present: the caller adds the content after
   * putting or committing them. Idempotent. @throws StoreIOError
   */
  async addContent (contentId: CID): Promise<void> {
    this.#assertOpen()
    const key = cidKey(contentId)
    const dir = join(this.dir, CONTENTS_DIR)
    await this.#lock.run(`content:${key}`, async () => {
      const path = join(dir, key)
      if (await exists(path)) return
      const tmp = join(dir, tmpName(key))
      try {
        await writeDurable(tmp, new Uint8Array(0))
        await rename(tmp, path)
        await syncDir(dir)
      } catch (cause) {
        await unlink(tmp).catch(() => {})
        throw new StoreIOError(`cannot record content ${key}: ${(cause as Error).message}`, { cause })
      }
    })
  }

  /** `true` iff {@link addContent} recorded `contentId` and it was not removed since. */
  async hasContent (contentId: CID): Promise<boolean> {
    this.#assertOpen()
    return exists(join(this.dir, CONTENTS_DIR, cidKey(contentId)))
  }

  /** Every content recorded, sorted by CID string. @throws StoreIOError */
  async listContents (): Promise<CID[]> {
    this.#assertOpen()
    let names: string[]
    try {
      names = await readdir(join(this.dir, CONTENTS_DIR))
    } catch (cause) {
      throw new StoreIOError(`cannot list contents: ${(cause as Error).message}`, { cause })
    }
    const out: CID[] = []
    for (const name of names.sort()) {
      if (name.endsWith(TMP_SUFFIX)) continue
      try {
        out.push(CID.parse(name))
      } catch {} // not ours; ignore
    }
    return out
  }

  /**
   * Forgets that `contentId` is held (its blocks stay; delete them separately). A no-op if
   * absent. @throws StoreIOError
   */
  async removeContent (contentId: CID): Promise<void> {
    this.#assertOpen()
    const key = cidKey(contentId)
    const dir = join(this.dir, CONTENTS_DIR)
    await this.#lock.run(`content:${key}`, async () => {
      try {
        await unlink(join(dir, key))
        await syncDir(dir)
      } catch (err) {
        if (isErrno(err, 'ENOENT')) return
        throw new StoreIOError(`cannot remove content ${key}: ${(err as Error).message}`, { cause: err })
      }
    })
  }

  /**
   * Waits for writes in flight, aborts open staging areas and refuses further use
   * (StoreClosedError). Idempotent.
   */
  async close (): Promise<void> {
    if (this.#closed) return
    await Promise.allSettled([...this.#stagings].map(async s => s.abort()))
    this.#closed = true
    await this.#lock.idle()
  }

  async #ensureShard (key: string): Promise<string> {
    const shard = join(this.dir, BLOCKS_DIR, shardOf(key))
    if (this.#shards.has(shard)) return shard
    // not `recursive`: its fallback reports a read-only disk (EROFS) as ENOENT; `blocks/` exists since open
    let created = false
    try {
      await mkdir(shard)
      created = true
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err
    }
    if (created) await syncDir(join(this.dir, BLOCKS_DIR))
    this.#shards.add(shard)
    return shard
  }

  #assertOpen (): void {
    if (this.#closed) throw new StoreClosedError()
  }
}

async function exists (path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false
    throw new StoreIOError(`cannot stat ${path}: ${(err as Error).message}`, { cause: err })
  }
}
