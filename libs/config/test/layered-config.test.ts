import { afterAll, describe, it, expect } from '@jest/globals'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { z } from 'zod'
import { LayeredConfig } from '../src/layered-config.js'
import { ConfigError, RestartRequiredError } from '../src/errors.js'
import { patchConfigDocument } from '../src/patch.js'
import { byteSize, duration } from '../src/units.js'

const schema = z.strictObject({
  logLevel: z.enum(['info', 'debug', 'warn']).default('info'),
  dataDir: z.string().default('.data'),
  http: z.strictObject({ port: z.number().int().min(1).max(65535).default(8080) }).prefault({}),
  swarm: z.strictObject({
    maxUploadRate: byteSize.default(0),
    maxDownloadRate: byteSize.default(0),
    unchokeInterval: duration.default(10_000)
  }).prefault({}),
  trust: z.strictObject({ publisherKeys: z.array(z.string()).default([]), revokedKeys: z.array(z.string()).default([]) }).prefault({}),
  tracker: z.strictObject({ natsPassword: z.string().default(''), natsPasswordFile: z.string().default('') }).prefault({})
})

const LIVE = new Set(['logLevel', 'swarm.maxUploadRate', 'swarm.maxDownloadRate', 'swarm.unchokeInterval', 'trust.publisherKeys', 'trust.revokedKeys'])
const isLive = (p: string): boolean => LIVE.has(p)

const made: string[] = []
afterAll(() => { for (const d of made) rmSync(d, { recursive: true, force: true }) })

function dir (): string {
  const d = mkdtempSync(join(tmpdir(), 'codio-layered-'))
  made.push(d)
  return d
}

interface Logged { level: string, obj: any, msg: string }

function setup (toml: string, env: Record<string, string> = {}): { d: string, file: string, logged: Logged[], load: () => LayeredConfig<typeof schema> } {
  const d = dir()
  const file = join(d, 'node.toml')
  writeFileSync(file, toml)
  const logged: Logged[] = []
  const log = { info: (obj: object, msg: string) => logged.push({ level: 'info', obj, msg }), warn: (obj: object, msg: string) => logged.push({ level: 'warn', obj, msg }) }
  return { d, file, logged, load: () => LayeredConfig.load({ schema, file, env, runtimeFile: join(d, 'runtime-config.json'), isLive, accumulate: ['trust.publisherKeys', 'trust.revokedKeys'], log }) }
}

async function rejection (p: Promise<unknown>): Promise<Error> {
  try {
    await p
  } catch (err) {
    return err as Error
  }
  throw new Error('expected a rejection')
}

describe('LayeredConfig', () => {
  it('names the source of every leaf and redacts inline secrets, not file paths', () => {
    const { load } = setup('[swarm]\nmaxUploadRate = "1MB"\n[tracker]\nnatsPassword = "hunter2"\nnatsPasswordFile = "/run/secrets/nats"\n', { CODIO_SWARM__MAX_DOWNLOAD_RATE: '2MB' })
    const c = load()
    const view = c.view()
    const src = Object.fromEntries(view.sources.map(s => [s.path, s]))
    expect(src['swarm.maxUploadRate']).toEqual({ path: 'swarm.maxUploadRate', source: 'file', live: true, redacted: false })
    expect(src['swarm.maxDownloadRate'].source).toBe('env')
    expect(src['http.port']).toEqual({ path: 'http.port', source: 'default', live: false, redacted: false })
    expect(src['tracker.natsPassword'].redacted).toBe(true)
    expect(src['tracker.natsPasswordFile'].redacted).toBe(false)
    expect((view.config.tracker as any).natsPassword).toBe('[redacted]')
    expect((view.config.tracker as any).natsPasswordFile).toBe('/run/secrets/nats')
    expect(JSON.stringify(view)).not.toContain('hunter2')
    expect((view.config.swarm as any).maxUploadRate).toBe(1_000_000)
    expect(view.sources.map(s => s.path)).toEqual([...view.sources.map(s => s.path)].sort())
  })

  it('applies a live update with the file spellings, tells listeners, and reports the source as runtime', async () => {
    const { load } = setup('')
    const c = load()
    const seen: Array<[number, string[]]> = []
    c.onChange((cfg, changed) => { seen.push([cfg.swarm.maxDownloadRate, changed]) })
    const r = await c.update({ swarm: { maxDownloadRate: '10MB', unchokeInterval: '30s' } }, [])
    expect(r.changed).toEqual(['swarm.maxDownloadRate', 'swarm.unchokeInterval'])
    expect(c.current.swarm.maxDownloadRate).toBe(10_000_000)
    expect(c.current.swarm.unchokeInterval).toBe(30_000)
    expect(seen).toEqual([[10_000_000, ['swarm.maxDownloadRate', 'swarm.unchokeInterval']]])
    expect(c.sourceOf('swarm.maxDownloadRate')).toBe('runtime')
    // the same value again changes nothing
    expect((await c.update({ swarm: { maxDownloadRate: '10000000' } }, [])).changed).toEqual([])
  })

  it('refuses a bad update naming all three wrong keys, and changes nothing', async () => {
    const { load, d } = setup('')
    const c = load()
    await c.update({ swarm: { maxUploadRate: '5MB' } }, [])
    const before = JSON.stringify(c.view())
    const err = await rejection(c.update({ swarm: { maxDownloadRate: 'fast', unchokeInterval: '10 parsecs', maxUploadRate: '1MB' }, bogus: { x: 1 } }, []))
    expect(err).toBeInstanceOf(ConfigError)
    const paths = (err as ConfigError).issues.map(i => i.path).sort()
    expect(paths).toEqual(['bogus', 'swarm.maxDownloadRate', 'swarm.unchokeInterval'])
    expect(err.message).toContain('bogus')
    expect(JSON.stringify(c.view())).toBe(before)
    expect(c.current.swarm.maxUploadRate).toBe(5_000_000)
    expect(JSON.parse(readFileSync(join(d, 'runtime-config.json'), 'utf8')).settings['swarm.maxUploadRate'].value).toBe('5MB')
  })

  it('refuses restart-only keys, naming each, and applies nothing', async () => {
    const c = setup('').load()
    const err = await rejection(c.update({ http: { port: 9000 }, dataDir: '/x', swarm: { maxUploadRate: '1MB' } }, []))
    expect(err).toBeInstanceOf(RestartRequiredError)
    expect(err.name).toBe('RestartRequiredError')
    expect((err as RestartRequiredError).keys.sort()).toEqual(['dataDir', 'http.port'])
    expect(c.current.swarm.maxUploadRate).toBe(0)
  })

  it('follows the mask: only masked paths change, a masked path absent from the patch drops its runtime value', async () => {
    const c = setup('[swarm]\nmaxUploadRate = "1MB"\n').load()
    await c.update({ swarm: { maxUploadRate: '3MB', maxDownloadRate: '4MB' } }, ['swarm.maxUploadRate'])
    expect(c.current.swarm.maxUploadRate).toBe(3_000_000)
    expect(c.current.swarm.maxDownloadRate).toBe(0)
    const r = await c.update({}, ['swarm.maxUploadRate'])
    expect(r.changed).toEqual(['swarm.maxUploadRate'])
    expect(c.current.swarm.maxUploadRate).toBe(1_000_000)
    expect(c.sourceOf('swarm.maxUploadRate')).toBe('file')
    const err = await rejection(c.update({}, ['swarm.nope']))
    expect((err as ConfigError).issues).toEqual([{ path: 'swarm.nope', message: 'no such setting', source: 'update mask' }])
  })

  it('persists runtime values across a restart until the file changes them', async () => {
    const s = setup('[swarm]\nmaxUploadRate = "1MB"\n')
    const c = s.load()
    await c.update({ swarm: { maxUploadRate: '7MB', maxDownloadRate: '8MB' }, logLevel: 'debug' }, [])
    const again = s.load()
    expect(again.current.swarm.maxUploadRate).toBe(7_000_000)
    expect(again.current.swarm.maxDownloadRate).toBe(8_000_000)
    expect(again.current.logLevel).toBe('debug')
    expect(again.sourceOf('swarm.maxUploadRate')).toBe('runtime')

    // the operator edits the file: its new value wins over the older runtime change
    writeFileSync(s.file, '[swarm]\nmaxUploadRate = "2MB"\nmaxDownloadRate = "9MB"\n')
    const third = s.load()
    expect(third.current.swarm.maxUploadRate).toBe(2_000_000)
    expect(third.current.swarm.maxDownloadRate).toBe(9_000_000)
    expect(third.current.logLevel).toBe('debug')
    expect(s.logged.filter(l => l.msg.includes('file wins')).map(l => l.obj.path).sort()).toEqual(['swarm.maxDownloadRate', 'swarm.maxUploadRate'])
    // and the runtime file forgets them
    await new Promise(resolve => setTimeout(resolve, 100))
    expect(Object.keys(JSON.parse(readFileSync(join(s.d, 'runtime-config.json'), 'utf8')).settings)).toEqual(['logLevel'])
  })

  it('keeps the previous cluster layer when a cluster document is invalid, and ignores restart-only keys in it', async () => {
    const s = setup('')
    const c = s.load()
    expect((await c.setClusterLayer({ swarm: { maxUploadRate: '6MB' } })).applied).toBe(true)
    expect(c.sourceOf('swarm.maxUploadRate')).toBe('cluster')
    expect((await c.setClusterLayer({ swarm: { maxUploadRate: 'lots' } })).applied).toBe(false)
    expect(c.current.swarm.maxUploadRate).toBe(6_000_000)
    expect(s.logged.some(l => l.msg.includes('cluster configuration refused'))).toBe(true)
    await c.setClusterLayer({ http: { port: 1234 }, swarm: { maxUploadRate: '1MB' } })
    expect(c.current.http.port).toBe(8080)
    expect(c.current.swarm.maxUploadRate).toBe(1_000_000)
    // runtime beats cluster
    await c.update({ swarm: { maxUploadRate: '2MB' } }, [])
    expect(c.current.swarm.maxUploadRate).toBe(2_000_000)
  })

  it('adds up the accumulate arrays over the layers', async () => {
    const c = setup('[trust]\npublisherKeys = ["a"]\n').load()
    await c.update({ trust: { publisherKeys: ['b'] } }, [])
    expect(c.current.trust.publisherKeys).toEqual(['a', 'b'])
    expect(c.layer('runtime')).toEqual({ trust: { publisherKeys: ['b'] } })
  })
})

describe('LayeredConfig.updateFrom and setLog', () => {
  it('builds concurrent read-modify-write updates from the runtime layer as each runs', async () => {
    const c = LayeredConfig.load({ schema, env: {}, isLive, accumulate: ['trust.publisherKeys'] })
    const add = async (k: string): Promise<unknown> => await c.updateFrom(runtime => ({ patch: { trust: { publisherKeys: [...((runtime.trust as any)?.publisherKeys ?? []), k] } }, mask: ['trust.publisherKeys'] }))
    await Promise.all(['a', 'b', 'c'].map(add))
    expect(c.current.trust.publisherKeys.sort()).toEqual(['a', 'b', 'c'])
  })

  it('keeps what it logs at load until a log is given', async () => {
    const s = setup('[swarm]\nmaxUploadRate = "1MB"\n')
    await s.load().update({ swarm: { maxUploadRate: '2MB' } }, [])
    writeFileSync(s.file, '[swarm]\nmaxUploadRate = "3MB"\n')
    const c = LayeredConfig.load({ schema, file: s.file, env: {}, runtimeFile: join(s.d, 'runtime-config.json'), isLive })
    const lines: string[] = []
    c.setLog({ info: (_o, m) => lines.push(m), warn: (_o, m) => lines.push(m) })
    expect(lines.some(l => l.includes('file wins'))).toBe(true)
    expect(c.current.swarm.maxUploadRate).toBe(3_000_000)
  })
})

describe('patchConfigDocument', () => {
  it('returns the new document with the given spellings, or every error at once', () => {
    const doc = patchConfigDocument({ schema, current: { swarm: { maxUploadRate: '1MB' } }, patch: { swarm: { maxDownloadRate: '2MB' } }, mask: [], isLive })
    expect(doc).toEqual({ swarm: { maxUploadRate: '1MB', maxDownloadRate: '2MB' } })
    const dropped = patchConfigDocument({ schema, current: doc, patch: {}, mask: ['swarm.maxUploadRate'], isLive })
    expect(dropped).toEqual({ swarm: { maxDownloadRate: '2MB' } })
    expect(() => patchConfigDocument({ schema, current: {}, patch: { http: { port: 1 } }, mask: [], isLive })).toThrow(RestartRequiredError)
    try {
      patchConfigDocument({ schema, current: {}, patch: { swarm: { maxUploadRate: 'x', maxDownloadRate: -1, what: 1 } }, mask: [], isLive })
      throw new Error('expected ConfigError')
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError)
      expect((err as ConfigError).issues.map(i => i.path).sort()).toEqual(['swarm.maxDownloadRate', 'swarm.maxUploadRate', 'swarm.what'])
    }
  })
})
