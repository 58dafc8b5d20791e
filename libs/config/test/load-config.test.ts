import { afterAll, describe, it, expect } from '@jest/globals'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { z } from 'zod'
import { loadConfig } from '../src/load-config.js'
import { ConfigError } from '../src/errors.js'
import { formatConfigIssues } from '../src/format-config-issues.js'
import { byteSize, duration } from '../src/units.js'

const schema = z.strictObject({
  name: z.string().default('edge-1'),
  http: z.strictObject({
    port: z.number().int().min(1).max(65535).default(8080),
    maxUploadBytes: byteSize.prefault('64MiB'),
    host: z.string().default('0.0.0.0')
  }).prefault({}),
  bootstrap: z.array(z.string()).default([]),
  gossipInterval: duration.prefault('30s'),
  tracker: z.strictObject({ url: z.string().optional() }).prefault({})
})

const made: string[] = []
afterAll(() => { for (const d of made) rmSync(d, { recursive: true, force: true }) })

function tomlFile (text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'codio-config-'))
  made.push(dir)
  const path = join(dir, 'codio.toml')
  writeFileSync(path, text)
  return path
}

function configError (fn: () => unknown): ConfigError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as Error).name).toBe('ConfigError')
    return err as ConfigError
  }
  throw new Error('expected a ConfigError')
}

describe('loadConfig layers', () => {
  it('applies schema defaults when nothing is given', () => {
    expect(loadConfig({ schema, env: {} })).toEqual({
      name: 'edge-1',
      http: { port: 8080, maxUploadBytes: 64 * 2 ** 20, host: '0.0.0.0' },
      bootstrap: [],
      gossipInterval: 30_000,
      tracker: {}
    })
  })

  it('a file value overrides the default; snake_case keys in TOML are accepted', () => {
    const file = tomlFile('name = "origin-a"\n[http]\nport = 9000\nmax_upload_bytes = "1GiB"\n')
    const c = loadConfig({ schema, file, env: {} })
    expect(c.name).toBe('origin-a')
    expect(c.http.port).toBe(9000)
    expect(c.http.maxUploadBytes).toBe(2 ** 30)
    expect(c.http.host).toBe('0.0.0.0')
  })

  it('env overrides the file, nested with __, words with _', () => {
    const file = tomlFile('[http]\nport = 9000\nmaxUploadBytes = "1GiB"\n')
    const c = loadConfig({ schema, file, env: { CODIO_HTTP__PORT: '9100', CODIO_HTTP__MAX_UPLOAD_BYTES: '5', OTHER: 'x' } })
    expect(c.http.port).toBe(9100)
    expect(c.http.maxUploadBytes).toBe(5)
  })

  it('overrides win over env', () => {
    const c = loadConfig({ schema, env: { CODIO_HTTP__PORT: '9100' }, overrides: { http: { port: 7000 } } })
    expect(c.http.port).toBe(7000)
  })

  it('env values: JSON arrays, strings kept as strings, custom prefix', () => {
    const c = loadConfig({
      schema,
      envPrefix: 'EDGE_',
      env: { EDGE_BOOTSTRAP: '["/ip4/10.0.0.1/tcp/4001","/ip4/10.0.0.2/tcp/4001"]', EDGE_NAME: '123', EDGE_GOSSIP_INTERVAL: '5m', CODIO_NAME: 'ignored' }
    })
    expect(c.bootstrap).toEqual(['/ip4/10.0.0.1/tcp/4001', '/ip4/10.0.0.2/tcp/4001'])
    expect(c.name).toBe('123')
    expect(c.gossipInterval).toBe(300_000)
  })
})

describe('environment shared with other programs', () => {
  it('ignores CODIO_ variables whose first segment names no setting of this schema', () => {
    const c = loadConfig({ schema, env: { CODIO_ORIGIN: 'http://127.0.0.1:7070', CODIO_INGEST__MAX_UPLOAD_BYTES: '5', CODIO_HTTP__PORT: '9100' } })
    expect(c.http.port).toBe(9100)
  })

  it('still reports a misspelt key inside a known table', () => {
    const err = configError(() => loadConfig({ schema, env: { CODIO_HTTP__PROT: '9100' } }))
    expect(err.issues).toEqual([{ path: 'http.prot', message: 'no such setting', source: 'CODIO_HTTP__PROT' }])
  })
})

describe('loadConfig errors', () => {
  it('reports a bad file value, an unknown key and a bad env value in ONE error', () => {
    const file = tomlFile('[http]\nport = "eighty"\ncolour = "blue"\n')
    const err = configError(() => loadConfig({ schema, file, env: { CODIO_GOSSIP_INTERVAL: 'soon', CODIO_TRACKER__URLS: 'x' } }))
    const byPath = Object.fromEntries(err.issues.map(i => [i.path, i]))
    expect(Object.keys(byPath).sort()).toEqual(['gossipInterval', 'http.colour', 'http.port', 'tracker.urls'])
    expect(byPath['http.port'].source).toBe(file)
    expect(byPath['http.colour']).toEqual({ path: 'http.colour', message: 'unknown key', source: file })
    expect(byPath.gossipInterval.source).toBe('CODIO_GOSSIP_INTERVAL')
    expect(byPath.gossipInterval.message).toMatch(/invalid duration "soon"/)
    expect(byPath['tracker.urls'].source).toBe('CODIO_TRACKER__URLS')

    const text = formatConfigIssues(err)
    expect(text.split('\n')).toHaveLength(4)
    expect(text).toMatch(new RegExp(`^  http\\.port: .*expected number, received string \\(from ${file.replace(/[.]/g, '\\.')}\\)$`, 'm'))
    expect(text).toMatch(/^ {2}gossipInterval: invalid duration "soon".* \(from CODIO_GOSSIP_INTERVAL\)$/m)
  })

  it('reports a TOML syntax error with its line, and still checks env', () => {
    const file = tomlFile('name = "ok"\n[http]\nport = = 3\n')
    const err = configError(() => loadConfig({ schema, file, env: { CODIO_HTTP__PORT: '"x"' } }))
    expect(err.issues).toHaveLength(2)
    expect(err.issues[0]).toEqual({ path: '', message: expect.stringMatching(/^TOML syntax error at line 3, column \d+/), source: file })
    expect(err.issues[1]).toMatchObject({ path: 'http.port', source: 'CODIO_HTTP__PORT' })
    expect(formatConfigIssues(err)).toMatch(/^ {2}\(file\): TOML syntax error at line 3/)
  })

  it('reports an unreadable file', () => {
    const err = configError(() => loadConfig({ schema, file: '/nonexistent/codio.toml', env: {} }))
    expect(err.issues).toEqual([{ path: '', message: 'cannot read config file: no such file', source: '/nonexistent/codio.toml' }])
  })

  it('refuses unknown keys even when the schema is a plain z.object', () => {
    const loose = z.object({ a: z.number().default(1) })
    const err = configError(() => loadConfig({ schema: loose, overrides: { b: 2, c: 3 } }))
    expect(err.issues.map(i => `${i.path} ${i.source}`).sort()).toEqual(['b overrides', 'c overrides'])
  })

  it('reports a required setting nobody gave, and an env var that addresses inside a value', () => {
    const s = z.strictObject({ origin: z.strictObject({ url: z.string() }), port: z.number().default(1) })
    const err = configError(() => loadConfig({ schema: s, env: { CODIO_PORT__X: '1' } }))
    expect(err.issues.map(i => i.path).sort()).toEqual(['origin', 'port'])
    expect(err.issues.find(i => i.path === 'origin')?.source).toBeUndefined()
    expect(err.issues.find(i => i.path === 'port')?.message).toMatch(/not a table/)
  })
})
