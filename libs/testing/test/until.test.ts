import { describe, expect, it } from '@jest/globals'
import { TimeoutError, until } from '../src/index.js'

describe('until', () => {
  it('resolves as soon as a sync or async condition holds', async () => {
    let n = 0
    await until(() => ++n >= 3, 5_000, 'the third poll', 1)
    expect(n).toBe(3)
    let m = 0
    await until(async () => ++m >= 2, 5_000, 'the second async poll', 1)
    expect(m).toBe(2)
  })

  it('fails with a TimeoutError naming what it waited for once the time is up', async () => {
    let polls = 0
    const err = await until(() => { polls++; return false }, 50, 'a condition that never holds', 10).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TimeoutError)
    expect((err as Error).message).toBe('timed out after 50 ms waiting for a condition that never holds')
    expect(polls).toBeGreaterThan(1)
  })

  it('passes on what the condition throws', async () => {
    await expect(until(() => { throw new Error('the process exited') }, 5_000, 'x')).rejects.toThrow('the process exited')
  })
})
