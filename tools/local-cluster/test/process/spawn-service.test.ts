import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, SERVICE_NODE_FLAGS } from '@codio/sidecars'
import { ServiceStartError } from '../../src/errors.js'
import { httpReady, outputReady } from '../../src/process/readiness.js'
import { spawnService, type ServiceProcess } from '../../src/process/spawn-service.js'
import { alive, fixture, waitFor } from '../helpers.js'

const behave = fixture('behave.mjs')

describe('spawnService', () => {
  let dir: string
  const started: ServiceProcess[] = []
  const spawnBehave = (args: string[], init: Partial<Parameters<typeof spawnService>[0]> = {}): ServiceProcess => {
    const p = spawnService({ name: `behave-${args[0]}`, script: behave, args, ...init })
    started.push(p)
    return p
  }

  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'codio-spawn-')) })
  afterAll(async () => {
    await Promise.all(started.map(async p => await p.stop({ graceMs: 0 })))
    await rm(dir, { recursive: true, force: true })
  })

  it('waits for /readyz, and SIGTERM stops the process (exit 0)', async () => {
    const port = await freePort()
    const p = spawnBehave(['listen', String(port)])
    await p.ready(httpReady(`http://127.0.0.1:${port}/readyz`), { timeoutMs: 10_000 })
    expect(p.running()).toBe(true)
    expect(await p.stop()).toEqual({ code: 0, signal: null })
    expect(p.running()).toBe(false)
    expect(alive(p.pid)).toBe(false)
    // a second stop is a no-op with the same answer
    expect(await p.stop()).toEqual({ code: 0, signal: null })
  })

  it('starts Node with SERVICE_NODE_FLAGS unless told otherwise', async () => {
    const withFlags = spawnBehave(['flags'], { output: 'pipe' })
    await withFlags.ready(outputReady(/flags .*\n/), { timeoutMs: 10_000 })
    expect(withFlags.output()).toBe(`flags ${SERVICE_NODE_FLAGS.join(' ')}\n`)
    const bare = spawnBehave(['flags'], { output: 'pipe', nodeFlags: [] })
    await bare.ready(outputReady('\n'), { timeoutMs: 10_000 })
    expect(bare.output()).toBe('flags \n')
  })

  it('fails with the last lines of its log when the process exits before it is ready', async () => {
    const log = join(dir, 'fail.log')
    const p = spawnBehave(['fail', '3'], { output: { file: log } })
    const err = await p.ready(() => false, { timeoutMs: 10_000 }).catch((e: unknown) => e) as ServiceStartError
    expect(err).toBeInstanceOf(ServiceStartError)
    expect(err.message).toBe(`behave-fail exited (3) before it was ready; its log: ${log}\nboom`)
    expect(err.service).toBe('behave-fail')
    expect(err.output).toBe('boom')
    expect(await p.exited).toEqual({ code: 3, signal: null })
  })

  it('fails with its piped output when it is not ready in time, and leaves it running', async () => {
    const p = spawnBehave(['stubborn'], { output: 'pipe' })
    const t0 = Date.now()
    const err = await p.ready(() => false, { timeoutMs: 500, intervalMs: 20 }).catch((e: unknown) => e) as ServiceStartError
    expect(Date.now() - t0).toBeGreaterThanOrEqual(500)
    expect(err).toBeInstanceOf(ServiceStartError)
    expect(err.message).toBe('behave-stubborn was not ready in time; its output:\nready')
    expect(p.running()).toBe(true)
  })

  it('sends SIGKILL when SIGTERM does not stop the process within the grace time', async () => {
    const p = spawnBehave(['stubborn'], { output: 'pipe' })
    await p.ready(outputReady('ready'), { timeoutMs: 10_000 })
    const t0 = Date.now()
    expect(await p.stop({ graceMs: 300 })).toEqual({ code: null, signal: 'SIGKILL' })
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300)
  })

  it('with group, a forced stop kills what the process started too', async () => {
    const p = spawnBehave(['parent'], { output: 'pipe', group: true })
    await p.ready(outputReady(/child \d+\n/), { timeoutMs: 10_000 })
    const grandchild = Number(/child (\d+)/.exec(p.output())![1])
    expect(alive(grandchild)).toBe(true)
    await p.stop({ graceMs: 200 })
    await waitFor(() => !alive(grandchild), 'the grandchild to be killed')
  })

  it('says why when the process cannot be spawned', async () => {
    const p = spawnBehave(['idle'], { cwd: join(dir, 'missing') })
    const err = await p.ready(() => true).catch((e: unknown) => e) as ServiceStartError
    expect(err).toBeInstanceOf(ServiceStartError)
    expect(err.message).toMatch(/^behave-idle could not be started \(.*ENOENT.*\) before it was ready$/)
    expect(p.pid).toBe(-1)
    expect(p.running()).toBe(false)
    expect(await p.stop()).toMatchObject({ code: null, signal: null })
  })

  it('stops waiting when the signal aborts, with its reason', async () => {
    const p = spawnBehave(['idle'])
    const abort = new AbortController()
    setTimeout(() => abort.abort(new Error('stop asked')), 100)
    await expect(p.ready(() => false, { timeoutMs: 10_000, signal: abort.signal })).rejects.toThrow('stop asked')
  })
})
