import fc from 'fast-check'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError, LayeredConfig, loadConfig, RestartRequiredError } from '@codio/config'
import { edgeConfigSchema } from '@codio/edge'
import { decodePublicKey } from '@codio/signing'
import { InvalidRequestError, isPublicKey, validateSelectRequest } from '@codio/tracker'
import { manifestCid } from '@codio/content'
import { check, parse, parseAsync, type Target } from '../harness.js'

/** Setting paths of the edge's schema and values of the kinds they take, plus junk. */
const key = fc.constantFrom('logLevel', 'http', 'port', 'host', 'p2p', 'bootstrap', 'listen', 'trust', 'publisherKeys', 'cache', 'maxBytes', 'swarm', 'maxUploadRate', 'dataDir', '__proto__', 'constructor', 'toString', '')
const value = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom('10MB', '1s', '-1', 'debug', 65536, -1, 1e308, '', '\u0000'))
/** JSON as a Connect request body would parse: `__proto__` an own key, not the prototype */
const hostileJson = [
  '{"__proto__":{"polluted":1}}', '{"http":{"__proto__":{"polluted":1}}}', '{"constructor":{"prototype":{"polluted":1}}}',
  '{"swarm":{"maxUploadRate":"1e400MB"}}', '{"trust":{"publisherKeys":[1,{}]}}', '[]', 'null', '"x"'
].map(s => JSON.parse(s) as unknown)
const patch = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.constantFrom(...hostileJson),
  fc.dictionary(key, fc.oneof(value, fc.dictionary(key, value, { maxKeys: 4 })), { maxKeys: 5 })
)
const mask = fc.array(fc.oneof(fc.string({ maxLength: 20 }), fc.tuple(key, key).map(([a, b]) => `${a}.${b}`), key), { maxLength: 4 })

/**
 * UpdateConfig patches (arbitrary JSON, arbitrary field masks) against the edge's schema:
 * only ConfigError or RestartRequiredError; an accepted update reads back as a valid config.
 */
export const configUpdateTarget: Target = {
  name: 'rpc.config-update',
  property: () => fc.asyncProperty(patch, mask, fc.boolean(), async (p, m, live) => {
    const config = LayeredConfig.load({ schema: edgeConfigSchema, env: {}, isLive: () => live })
    const r = await parseAsync('LayeredConfig.update', [ConfigError, RestartRequiredError], async () => await config.update(p, m))
    if (r !== undefined) check(edgeConfigSchema.safeParse(r.config).success, 'an accepted update left an invalid config')
    check(!('polluted' in {}), 'an update polluted Object.prototype')
    return true
  })
}

const contentId = manifestCid(new Uint8Array([1])).toString()

/** Inputs this target once failed on, kept in its corpus. */
const FOUND = [
  'a0---10a-AB-AaA12-11200A00-_3ZBa0aB2_-_aD0A' // 32 bytes, no Ed25519 point: isPublicKey said yes (fixed in libs/tracker control-store)
]

/** Control-plane and tracker request validators: isPublicKey never throws; SelectPeers only InvalidRequestError. */
export const requestValidatorTarget: Target = {
  name: 'rpc.request-validators',
  property: () => fc.property(
    fc.oneof(fc.string({ maxLength: 50 }), fc.constantFrom(...FOUND), fc.stringMatching(/^[A-Za-z0-9_-]{43}$/), fc.uint8Array({ minLength: 32, maxLength: 32 }).map(b => Buffer.from(b).toString('base64url'))),
    fc.record({
      contentId: fc.oneof(fc.string({ maxLength: 70 }), fc.constant(contentId)),
      count: fc.oneof(fc.integer(), fc.double(), fc.constant(5)),
      exclude: fc.array(fc.string({ maxLength: 60 }), { maxLength: 3 })
    }),
    (s, req) => {
      const ok = parse('isPublicKey', [], () => isPublicKey(s))
      if (ok === true) check(decodePublicKey(s).length === 32, `${s} accepted but is not 32 bytes`)
      parse('validateSelectRequest', [InvalidRequestError], () => validateSelectRequest(req as any))
      return true
    })
}

const tomlKey = fc.oneof(key, fc.string({ maxLength: 8 }), fc.constantFrom('log_level', 'max_upload_rate', 'publisher_keys', '"quoted key"', 'a.b.c', '__proto__.polluted', 'http.__proto__', 'constructor.prototype.polluted'))
const tomlValue = fc.oneof(
  fc.integer().map(String), fc.string({ maxLength: 10 }).map(s => JSON.stringify(s)), fc.constantFrom('true', '1e999', 'inf', 'nan', '[1, "a"]', '{ a = 1 }', '1979-05-27T07:32:00Z', '0x1F', '"10MB"', '"""\nx"""', "'lit'", '[[', '"\\u0000"')
)
const tomlLine = fc.oneof(
  fc.tuple(tomlKey, tomlValue).map(([k, v]) => `${k} = ${v}`),
  fc.tuple(fc.constantFrom('[', '[['), tomlKey, fc.constantFrom(']', ']]', '')).map(p => p.join('')),
  fc.string({ maxLength: 30 })
)
const envMap = fc.dictionary(
  fc.oneof(fc.constantFrom('CODIO_LOG_LEVEL', 'CODIO_HTTP__PORT', 'CODIO_HTTP_PORT', 'CODIO_SWARM__MAX_UPLOAD_RATE', 'CODIO_TRUST__PUBLISHER_KEYS', 'CODIO_', 'CODIO___', 'CODIO_P2P__BOOTSTRAP', 'CODIO___PROTO____POLLUTED', 'CODIO_HTTP____PROTO__', 'CODIO_CONSTRUCTOR__PROTOTYPE__POLLUTED'), fc.string({ maxLength: 20 }).map(s => `CODIO_${s}`)),
  fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('1', '-1', '[]', '["a"]', '{}', 'true', '99999999999999999999')),
  { maxKeys: 4 }
)

/** TOML config files and environments: loadConfig throws only ConfigError; what loads parses under the schema. */
export const tomlConfigTarget: Target = {
  name: 'config.toml',
  property: () => {
    const dir = mkdtempSync(join(tmpdir(), 'codio-fuzz-'))
    const file = join(dir, 'config.toml')
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
    return fc.property(fc.array(tomlLine, { maxLength: 12 }), envMap, (lines, env) => {
      writeFileSync(file, lines.join('\n'))
      const c = parse('loadConfig', [ConfigError], () => loadConfig({ schema: edgeConfigSchema, file, env }))
      if (c !== undefined) check(edgeConfigSchema.safeParse(c).success, 'loaded config does not parse')
      check(!('polluted' in {}), 'loading polluted Object.prototype')
      return true
    })
  }
}

configUpdateTarget.seeds = () => [
  [{ logLevel: 'debug' }, ['logLevel'], true], [{ swarm: { maxUploadRate: '10MB' } }, ['swarm.maxUploadRate'], true], [{ http: { port: 1 } }, ['http.port'], true],
  [{ http: { port: 1 } }, ['http.port'], false], ...hostileJson.map(p => [p, [], true]), [{ __proto__: 1 }, ['__proto__'], true], [{}, ['constructor.prototype'], true], [null, ['logLevel'], true]
].map(input => ({ note: `UpdateConfig ${JSON.stringify(input[0]) ?? 'undefined'} mask ${JSON.stringify(input[1])}`, input }))

requestValidatorTarget.seeds = () => [
  ['A'.repeat(43), { contentId, count: 5, exclude: [] }], ['', { contentId: '', count: 0, exclude: [] }], ['x', { contentId, count: -1, exclude: ['a'] }],
  ['AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', { contentId, count: 1.5, exclude: [] }], ['/'.repeat(43), { contentId: 'bafy', count: 2 ** 31, exclude: [] }]
].map(input => ({ note: `key ${String(input[0]).slice(0, 20)}, SelectPeers ${JSON.stringify(input[1]).slice(0, 60)}`, input }))

tomlConfigTarget.seeds = () => [
  [['log_level = "debug"', '[http]', 'port = 8080'], {}], [['[swarm]', 'max_upload_rate = "10MB"'], { CODIO_HTTP__PORT: '9000' }], [['__proto__.polluted = 1'], {}],
  [['[constructor.prototype]', 'polluted = 1'], { CODIO___PROTO____POLLUTED: '1' }], [['port = 1e999', 'x = [[', '"""'], {}], [['a.b.c = inf'], { CODIO_: '' }], [[], { CODIO_HTTP__PORT: '99999999999999999999' }]
].map(input => ({ note: `TOML ${JSON.stringify(input[0]).slice(0, 50)} env ${JSON.stringify(input[1]).slice(0, 40)}`, input }))

requestValidatorTarget.kept = () => FOUND.map(s => ({
  note: '32 bytes that are no Ed25519 point: isPublicKey said yes (fixed in libs/tracker control-store)',
  input: [s, { contentId, count: 5, exclude: [] }]
}))
