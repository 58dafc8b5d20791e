import { describe, expect, it } from '@jest/globals'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { ClusterStartError } from '../src/errors.js'
import { runCluster } from '../src/run-cluster.js'
import { outputReady, spawnService } from '../src/process/index.js'
import { alive, fixture, processesMentioning } from './helpers.js'
import { withFakeServices } from './fake-services.js'

/** A stream that collects what is written, and resolves `seen(text)` once it shows `text`. */
function sink (): { out: PassThrough, text: () => string, seen: (text: string) => Promise<void> } {
  const out = new PassThrough()
  let text = ''
  const waiting: Array<{ text: string, resolve: () => void }> = []
  out.on('data', (b: Buffer) => {
    text += b.toString()
    for (const w of waiting) if (text.includes(w.text)) w.resolve()
  })
  return { out, text: () => text, seen: async (t) => { await new Promise<void>(resolve => { waiting.push({ text: t, resolve }) }) } }
}

describe('runCluster (with stand-in services)', () => {
  const fake = withFakeServices('codio-run-cluster-')

  it('publishes the sample through the given publish, prints where everything is, and stops every process when told', async () => {
    const dir = join(fake.root, 'run')
    const sample = join(fake.root, 'sample.bin')
    await writeFile(sample, Buffer.alloc(1234, 7))
    const published: Array<[string, string]> = []
    const { out, text, seen } = sink()
    let stop = (): void => {}
    const until = new Promise<void>(resolve => { stop = resolve })
    const running = runCluster({ dir, edges: 2, relays: 1, tracker: false, servicesDir: fake.services, sample, out, until, publish: async (file, origin) => { published.push([file, origin]); return 'bafkfake' } })
    await seen('Ctrl-C (or SIGTERM) stops every process.')
    const file = JSON.parse(await readFile(join(dir, 'cluster.json'), 'utf8'))
    const [relay, origin, edge1, edge2] = file.processes
    expect(published).toEqual([[sample, origin.http]])
    expect(file.sample).toEqual({ cid: 'bafkfake', path: sample })
    for (const p of file.processes) expect(alive(p.pid)).toBe(true)
    stop()
    await running
    expect(text()).toBe([
      `Codio local cluster is up: 1 origin, 1 relay, 2 edges (state in ${dir})`,
      ...[relay, origin, edge1, edge2].map(p => `  ${p.name.padEnd(9)} http ${p.http}  admin ${p.admin}  peer ${p.peerId}`),
      `publishing sample ${sample} (1234 bytes) at ${origin.http} ...`,
      'sample content ID: bafkfake',
      `  curl -o sample.bin ${edge1.http}/content/bafkfake`,
      `  curl -o sample.bin ${edge2.http}/content/bafkfake`,
      `cluster.json: ${join(dir, 'cluster.json')}`,
      'Ctrl-C (or SIGTERM) stops every process.',
      'stopping the cluster ...',
      'stopped.',
      ''
    ].join('\n'))
    expect(processesMentioning(dir)).toEqual([])
  })

  it('a stop asked for while the cluster starts stops what was started', async () => {
    const dir = join(fake.root, 'early')
    const { out, text } = sink()
    await runCluster({ dir, edges: 1, relays: 1, tracker: false, servicesDir: fake.services, sample: false, out, until: Promise.resolve() })
    expect(text()).toBe('stopping the cluster ...\nstopped.\n')
    expect(processesMentioning(dir)).toEqual([])
  })

  it('a stop asked for during the sample\'s upload aborts it and stops the cluster', async () => {
    const dir = join(fake.root, 'upload')
    const { out, text, seen } = sink()
    let stop = (): void => {}
    const until = new Promise<void>(resolve => { stop = resolve })
    let aborted = false
    const publish = async (_file: string, _origin: string, signal: AbortSignal): Promise<string> => await new Promise((resolve, reject) => {
      signal.addEventListener('abort', () => { aborted = true; reject(signal.reason) })
    })
    const running = runCluster({ dir, edges: 1, relays: 1, tracker: false, servicesDir: fake.services, sample: process.execPath, out, until, publish })
    await seen('publishing sample')
    stop()
    await running
    expect(aborted).toBe(true)
    expect(text()).toMatch(/publishing sample .*\nstopping the cluster \.\.\.\nstopped\.\n$/)
    expect(processesMentioning(dir)).toEqual([])
  })

  it('fails, with every process stopped, when the sample cannot be published', async () => {
    const dir = join(fake.root, 'refused')
    await expect(runCluster({ dir, edges: 1, relays: 1, tracker: false, servicesDir: fake.services, sample: process.execPath, out: new PassThrough(), until: new Promise(() => {}), publish: async () => { throw new Error('origin said no') } })).rejects.toThrow('origin said no')
    expect(processesMentioning(dir)).toEqual([])
  })

  it.each(['SIGTERM', 'SIGINT'] as const)('in its own process, %s stops every process and it exits 0', async (signal) => {
    const dir = join(fake.root, `signal-${signal}`)
    // in a group of its own: a failed test's cleanup still takes the cluster's processes with it
    const run = spawnService({ name: 'run', script: fixture('run.mjs'), args: [dir, fake.services], nodeFlags: [], output: 'pipe', group: true })
    try {
      await run.ready(outputReady('Ctrl-C (or SIGTERM) stops every process.'), { timeoutMs: 30_000 })
      expect(processesMentioning(dir).filter(pid => pid !== run.pid).length).toBe(3)
      run.child.kill(signal)
      expect(await run.exited).toEqual({ code: 0, signal: null })
      expect(run.output()).toMatch(/\nstopping the cluster \.\.\.\nstopped\.\n$/)
      expect(processesMentioning(dir)).toEqual([])
    } finally {
      await run.stop()
    }
  })

  it('asks for a publish function when it is to publish a sample', async () => {
    await expect(runCluster({ dir: join(fake.root, 'x'), servicesDir: fake.services })).rejects.toThrow(ClusterStartError)
  })
})
