import { afterAll, describe, it, expect } from '@jest/globals'
import { mkdtemp, readFile, rm, stat, writeFile, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '../src/generate-key-pair.js'
import { saveKeyPair, loadKeyPair, loadOrCreateKeyPair, loadPublicKey } from '../src/key-file.js'
import { encodePublicKey } from '../src/public-key.js'
import { InvalidKeyError, KeyFileError } from '../src/errors.js'

const made: string[] = []
afterAll(async () => { await Promise.all(made.map(async d => rm(d, { recursive: true, force: true }))) })

async function tempDir (): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'codio-signing-'))
  made.push(dir)
  return dir
}

async function expectKeyFileError (p: Promise<unknown>, reason: RegExp): Promise<void> {
  const err = await p.then(() => undefined, (e: unknown) => e)
  expect(err).toBeInstanceOf(KeyFileError)
  expect((err as KeyFileError).name).toBe('KeyFileError')
  expect((err as KeyFileError).reason).toMatch(reason)
}

describe('saveKeyPair / loadKeyPair (RFC 8037 JWK)', () => {
  it('round trips a key pair through a file in new parent directories', async () => {
    const path = join(await tempDir(), 'a', 'b', 'publisher.jwk')
    const kp = await generateKeyPair()
    await saveKeyPair(path, kp)
    const loaded = await loadKeyPair(path)
    expect(loaded.publicKey).toEqual(kp.publicKey)
    expect(loaded.privateKey).toEqual(kp.privateKey)
    const jwk = JSON.parse(await readFile(path, 'utf8'))
    expect(jwk).toEqual({ kty: 'OKP', crv: 'Ed25519', x: encodePublicKey(kp.publicKey), d: Buffer.from(kp.privateKey).toString('base64url') })
  })

  it('writes the file with mode 0600 and leaves no temporary file', async () => {
    const dir = await tempDir()
    const path = join(dir, 'publisher.jwk')
    await saveKeyPair(path, await generateKeyPair())
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    expect(await readdir(dir)).toEqual(['publisher.jwk'])
  })

  it('refuses to overwrite an existing file unless asked', async () => {
    const dir = await tempDir()
    const path = join(dir, 'publisher.jwk')
    const first = await generateKeyPair()
    const second = await generateKeyPair()
    await saveKeyPair(path, first)
    await expectKeyFileError(saveKeyPair(path, second), /exists/)
    expect((await loadKeyPair(path)).publicKey).toEqual(first.publicKey)
    expect(await readdir(dir)).toEqual(['publisher.jwk'])
    await saveKeyPair(path, second, { overwrite: true })
    expect((await loadKeyPair(path)).publicKey).toEqual(second.publicKey)
    expect((await stat(path)).mode & 0o777).toBe(0o600)
  })

  it('refuses to save a pair whose public key does not match the seed', async () => {
    const a = await generateKeyPair()
    const b = await generateKeyPair()
    const path = join(await tempDir(), 'k.jwk')
    await expect(saveKeyPair(path, { publicKey: b.publicKey, privateKey: a.privateKey })).rejects.toBeInstanceOf(InvalidKeyError)
  })

  it('reports each kind of corrupt key file with a clear reason', async () => {
    const dir = await tempDir()
    const kp = await generateKeyPair()
    const other = await generateKeyPair()
    const x = encodePublicKey(kp.publicKey)
    const d = Buffer.from(kp.privateKey).toString('base64url')
    const cases: Array<[string, RegExp]> = [
      ['{"kty":"OKP",', /not valid JSON/],
      ['[1,2]', /not a JSON object/],
      [JSON.stringify({ kty: 'EC', crv: 'Ed25519', x, d }), /"kty" must be "OKP"/],
      [JSON.stringify({ kty: 'OKP', crv: 'X25519', x, d }), /"crv" must be "Ed25519"/],
      [JSON.stringify({ kty: 'OKP', crv: 'Ed25519', d }), /no public key "x"/],
      [JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: x.slice(2), d }), /"x" must be 43 base64url/],
      [JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x }), /no private key "d"/],
      [JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x, d: 42 }), /"d" must be a base64url string/],
      [JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: encodePublicKey(other.publicKey), d }), /"x" is not the public key of "d"/]
    ]
    for (const [i, [text, reason]] of cases.entries()) {
      const path = join(dir, `bad-${i}.jwk`)
      await writeFile(path, text)
      await expectKeyFileError(loadKeyPair(path), reason)
    }
    await expectKeyFileError(loadKeyPair(join(dir, 'missing.jwk')), /no such file/)
  })
})

describe('loadPublicKey', () => {
  it('accepts a base64url key string', async () => {
    const kp = await generateKeyPair()
    expect(await loadPublicKey(encodePublicKey(kp.publicKey))).toEqual(kp.publicKey)
  })

  it('accepts a full JWK file and a public-only JWK file', async () => {
    const dir = await tempDir()
    const kp = await generateKeyPair()
    const full = join(dir, 'full.jwk')
    await saveKeyPair(full, kp)
    expect(await loadPublicKey(full)).toEqual(kp.publicKey)
    const pub = join(dir, 'pub.jwk')
    await writeFile(pub, JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: encodePublicKey(kp.publicKey) }))
    expect(await loadPublicKey(pub)).toEqual(kp.publicKey)
  })

  it('rejects a missing file and a mismatched JWK', async () => {
    const dir = await tempDir()
    await expectKeyFileError(loadPublicKey(join(dir, 'nope.jwk')), /no such file/)
    const a = await generateKeyPair()
    const b = await generateKeyPair()
    const bad = join(dir, 'bad.jwk')
    await writeFile(bad, JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: encodePublicKey(a.publicKey), d: Buffer.from(b.privateKey).toString('base64url') }))
    await expectKeyFileError(loadPublicKey(bad), /not the public key/)
  })
})

describe('loadOrCreateKeyPair', () => {
  it('creates a key pair once and loads the same one afterwards', async () => {
    const path = join(await tempDir(), 'sub', 'publisher.jwk')
    const first = await loadOrCreateKeyPair(path)
    expect(first.created).toBe(true)
    const again = await loadOrCreateKeyPair(path)
    expect(again.created).toBe(false)
    expect(Buffer.from(again.keyPair.privateKey).equals(Buffer.from(first.keyPair.privateKey))).toBe(true)
  })

  it('refuses a broken key file instead of replacing it', async () => {
    const path = join(await tempDir(), 'publisher.jwk')
    await writeFile(path, '{"kty":"OKP"')
    await expect(loadOrCreateKeyPair(path)).rejects.toBeInstanceOf(KeyFileError)
    expect(await readFile(path, 'utf8')).toBe('{"kty":"OKP"')
  })
})


describe('PEM key files (RFC 8410, as Kubernetes Secrets and Helm genPrivateKey carry them)', () => {
  it('loads a PKCS#8 private key as a key pair and its SPKI public key as the same public key', async () => {
    const { generateKeyPairSync } = await import('node:crypto')
    const dir = await tempDir()
    const { privateKey, publicKey } = generateKeyPairSync('ed25519')
    await writeFile(join(dir, 'publisher.pem'), privateKey.export({ format: 'pem', type: 'pkcs8' }))
    await writeFile(join(dir, 'publisher.pub.pem'), publicKey.export({ format: 'pem', type: 'spki' }))
    const x = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url')
    const pair = await loadKeyPair(join(dir, 'publisher.pem'))
    expect(Buffer.from(pair.publicKey)).toEqual(x)
    expect(Buffer.from(pair.privateKey)).toEqual(Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url'))
    expect(Buffer.from(await loadPublicKey(join(dir, 'publisher.pem')))).toEqual(x)
    expect(Buffer.from(await loadPublicKey(join(dir, 'publisher.pub.pem')))).toEqual(x)
    await expectKeyFileError(loadKeyPair(join(dir, 'publisher.pub.pem')), /no private key/)
  })

  it('refuses a PEM that is not an Ed25519 key', async () => {
    const { generateKeyPairSync } = await import('node:crypto')
    const dir = await tempDir()
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    await writeFile(join(dir, 'ec.pem'), privateKey.export({ format: 'pem', type: 'pkcs8' }))
    await writeFile(join(dir, 'junk.pem'), '-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n')
    await expectKeyFileError(loadKeyPair(join(dir, 'ec.pem')), /"kty" must be "OKP"/)
    await expectKeyFileError(loadPublicKey(join(dir, 'junk.pem')), /not a PEM Ed25519 key/)
  })
})
