import { afterAll, describe, expect, it } from '@jest/globals'
import { outputReady } from '../../src/process/readiness.js'
import { spawnService, type ServiceProcess } from '../../src/process/spawn-service.js'
import { alive, fixture, waitFor } from '../helpers.js'

/**
 * An owner process (fixtures/owner.mjs, on the built package) starts a child through
 * spawnService and then ends badly: the child must not outlive it.
 */
describe('processes started by spawnService never outlive their owner', () => {
  const children: number[] = []
  afterAll(() => {
    for (const pid of children) if (alive(pid)) process.kill(pid, 'SIGKILL')
  })

  const startOwner = async (how: string): Promise<{ owner: ServiceProcess, child: number }> => {
    const owner = spawnService({ name: `owner-${how}`, script: fixture('owner.mjs'), args: [how], nodeFlags: [], output: 'pipe' })
    await owner.ready(outputReady(/child \d+\n/), { timeoutMs: 15_000 })
    const child = Number(/child (\d+)/.exec(owner.output())![1])
    children.push(child)
    expect(alive(child)).toBe(true)
    return { owner, child }
  }

  it.each([
    ['throw', { code: 1, signal: null }],
    ['exit', { code: 3, signal: null }]
  ])('the owner exits (%s): its child is killed', async (how, exit) => {
    const { owner, child } = await startOwner(how)
    expect(await owner.exited).toEqual(exit)
    await waitFor(() => !alive(child), 'the child to be killed')
  })

  it.each(['SIGTERM', 'SIGINT', 'SIGHUP'] as const)('the owner dies of %s, which it does not handle: its child is killed and it still dies of the signal', async (signal) => {
    const { owner, child } = await startOwner('signal')
    owner.child.kill(signal)
    expect(await owner.exited).toEqual({ code: null, signal })
    await waitFor(() => !alive(child), 'the child to be killed')
  })

  it('an owner that handles the signal itself keeps its child (it stops it its own way)', async () => {
    const { owner, child } = await startOwner('handles')
    owner.child.kill('SIGTERM')
    await owner.ready(outputReady('handled'), { timeoutMs: 5000 })
    expect(owner.running()).toBe(true)
    expect(alive(child)).toBe(true)
    await owner.stop({ graceMs: 0 })
  })
})
