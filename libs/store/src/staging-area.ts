import { rename, rm, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { CID } from 'multiformats/cid'
import { StagingClosedError, StoreIOError } from './errors.js'
import { cidKey, tmpName, writeDurable } from './layout.js'

/**
 * A private area for one ingest: blocks put here are invisible to the store until
 * `commit()`, and `abort()` removes every trace of them. A crash before `commit()` leaves a
 * staging directory that the next `BlockStore.open` removes.
 */
export interface StagingArea {
  /** unique id, also the staging directory name */
  readonly id: string
  /**
   * Stages a block (written and fsynced inside the staging directory). Staging the same CID
   * twice keeps one copy.
   * @throws StagingClosedError after commit() or abort()
   */
  put(cid: CID, bytes: Uint8Array): Promise<void>
  /**
   * Waits for pending puts, then moves every staged block into the store by rename (blocks the
   * store already holds are dropped), fsyncs the directories and removes the staging directory.
   * @throws StagingClosedError if already committed or aborted
   * @throws StoreIOError on an I/O failure (the blocks not yet moved stay staged; retry or abort)
   */
  commit(): Promise<void>
  /** Removes everything staged. Idempotent; a no-op after commit(). */
  abort(): Promise<void>
}

/** @internal what a staging area needs from its store */
export interface StagingHost {
  /** moves a staged file into the store; returns the shard directory to fsync, if it moved */
  adopt(key: string, from: string, size: number): Promise<string | undefined>
  syncDirs(dirs: Iterable<string>): Promise<void>
  released(area: Staging): void
}

const COMMIT_CONCURRENCY = 32

/** @internal */
export class Staging implements StagingArea {
  readonly id: string
  readonly #dir: string
  readonly #host: StagingHost
  readonly #entries = new Map<string, number>() // key → size
  readonly #pending = new Set<Promise<void>>()
  #state: 'open' | 'committing' | 'committed' | 'aborted' = 'open'

  constructor (id: string, dir: string, host: StagingHost) {
    this.id = id
    this.#dir = dir
    this.#host = host
  }

  async put (cid: CID, bytes: Uint8Array): Promise<void> {
    if (this.#state !== 'open') throw new StagingClosedError(`staging area ${this.id} is ${this.#state}`)
    const key = cidKey(cid)
    const p = this.#write(key, bytes)
    this.#pending.add(p)
    try {
      await p
    } finally {
      this.#pending.delete(p)
    }
  }

  async #write (key: string, bytes: Uint8Array): Promise<void> {
    const tmp = join(this.#dir, tmpName(key))
    try {
      await writeDurable(tmp, bytes)
      await rename(tmp, join(this.#dir, key))
    } catch (cause) {
      await unlink(tmp).catch(() => {})
      throw new StoreIOError(`cannot stage block ${key}: ${(cause as Error).message}`, { cause })
    }
    this.#entries.set(key, bytes.length)
  }

  async commit (): Promise<void> {
    if (this.#state !== 'open') throw new StagingClosedError(`staging area ${this.id} is ${this.#state}`)
    this.#state = 'committing'
    try {
      await Promise.allSettled([...this.#pending])
      const touched = new Set<string>()
      const entries = [...this.#entries]
      for (let i = 0; i < entries.length; i += COMMIT_CONCURRENCY) {
        await Promise.all(entries.slice(i, i + COMMIT_CONCURRENCY).map(async ([key, size]) => {
          const shard = await this.#host.adopt(key, join(this.#dir, key), size)
          if (shard !== undefined) touched.add(shard)
          this.#entries.delete(key)
        }))
      }
      await this.#host.syncDirs(touched)
      await rm(this.#dir, { recursive: true, force: true })
    } catch (cause) {
      this.#state = 'open'
      if (cause instanceof StoreIOError || (cause as Error).name === 'StoreClosedError') throw cause
      throw new StoreIOError(`cannot commit staging area ${this.id}: ${(cause as Error).message}`, { cause })
    }
    this.#state = 'committed'
    this.#host.released(this)
  }

  async abort (): Promise<void> {
    if (this.#state === 'aborted' || this.#state === 'committed') return
    this.#state = 'aborted'
    await Promise.allSettled([...this.#pending])
    this.#entries.clear()
    try {
      await rm(this.#dir, { recursive: true, force: true })
    } catch (cause) {
      throw new StoreIOError(`cannot remove staging area ${this.id}: ${(cause as Error).message}`, { cause })
    } finally {
      this.#host.released(this)
    }
  }
}
