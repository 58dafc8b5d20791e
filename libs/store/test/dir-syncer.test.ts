import { describe, expect, it } from '@jest/globals'
import { DirSyncer } from '../src/dir-syncer.js'

/** A sync function that records its calls and can be held open or made to fail. */
function recorder (): { sync: (dir: string) => Promise<void>, synced: string[], hold: () => () => void, failNext: (err: Error) => void } {
  const synced: string[] = []
  let gate: Promise<void> | undefined
  let failure: Error | undefined
  return {
    synced,
    sync: async (dir) => {
      if (gate != null) await gate
      if (failure != null) {
        const err = failure
        failure = undefined
        throw err
      }
      synced.push(dir)
    },
    hold: () => {
      let open!: () => void
      gate = new Promise(resolve => { open = resolve })
      return () => { gate = undefined; open() }
    },
    failNext: (err) => { failure = err }
  }
}

describe('DirSyncer: one fsync per directory per flush', () => {
  it('syncs each marked directory once, however many entries it got', async () => {
    const r = recorder()
    const s = new DirSyncer(r.sync, 60_000)
    for (const d of ['a', 'b', 'a', 'a', 'c']) s.mark(d)
    await s.flush()
    expect(r.synced.sort()).toEqual(['a', 'b', 'c'])
    await s.flush() // nothing marked since: nothing synced
    expect(r.synced).toHaveLength(3)
    s.stop()
  })

  it('a flush waits for one in progress, then syncs what was marked after it started', async () => {
    const r = recorder()
    const s = new DirSyncer(r.sync, 60_000)
    s.mark('a')
    const release = r.hold()
    const first = s.flush()
    s.mark('b') // after the first flush took its directories
    let secondDone = false
    const second = s.flush().then(() => { secondDone = true })
    await new Promise(resolve => setTimeout(resolve, 20))
    expect(secondDone).toBe(false)
    release()
    await Promise.all([first, second])
    expect(r.synced).toEqual(['a', 'b'])
    s.stop()
  })

  it('a failed sync keeps its directories marked for the next flush, and reports the error', async () => {
    const r = recorder()
    const s = new DirSyncer(r.sync, 60_000)
    s.mark('a')
    r.failNext(new Error('EIO'))
    await expect(s.flush()).rejects.toThrow('EIO')
    await s.flush()
    expect(r.synced).toEqual(['a'])
    s.stop()
  })

  it('flushes by itself within the interval of the first mark; not after stop()', async () => {
    const r = recorder()
    const s = new DirSyncer(r.sync, 30)
    s.mark('a')
    await new Promise(resolve => setTimeout(resolve, 100))
    expect(r.synced).toEqual(['a'])
    s.stop()
    s.mark('b')
    await new Promise(resolve => setTimeout(resolve, 100))
    expect(r.synced).toEqual(['a'])
    await s.flush()
    expect(r.synced).toEqual(['a', 'b'])
  })
})
