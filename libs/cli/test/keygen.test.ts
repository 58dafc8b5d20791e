import { mkdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { encodePublicKey, loadKeyPair } from '@codio/signing'
import { keygen } from '../src/commands/keygen.js'
import { KeyFileExistsError } from '../src/errors.js'
import { runCli, tempDir, type TempDir } from './helpers.js'

describe('keygen', () => {
  let tmp: TempDir

  beforeAll(async () => { tmp = await tempDir() })
  afterAll(async () => { await tmp.remove() })

  it('writes .codio/publisher.jwk that loads, prints the public key, refuses to overwrite without --force', async () => {
    const cwd = join(tmp.path, 'project')
    await mkdir(cwd)
    const first = await runCli(['keygen'], { cwd })
    expect(first.code).toBe(0)
    const publicKey = first.stdout.toString().trim()
    expect(publicKey).toMatch(/^[A-Za-z0-9_-]{43}$/)

    const file = join(cwd, '.codio', 'publisher.jwk')
    const jwk = JSON.parse(await readFile(file, 'utf8'))
    expect(jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', x: publicKey })
    const kp = await loadKeyPair(file)
    expect(encodePublicKey(kp.publicKey)).toBe(publicKey)
    expect((await stat(file)).mode & 0o077).toBe(0)

    const again = await runCli(['keygen'], { cwd })
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('--force')
    expect(again.stdout.toString()).toBe('')
    expect(JSON.parse(await readFile(file, 'utf8')).x).toBe(publicKey)

    const forced = await runCli(['keygen', '--force'], { cwd })
    expect(forced.code).toBe(0)
    const replaced = forced.stdout.toString().trim()
    expect(replaced).not.toBe(publicKey)
    expect(JSON.parse(await readFile(file, 'utf8')).x).toBe(replaced)
  })

  it('-o writes elsewhere, creating directories; the function throws KeyFileExistsError', async () => {
    const file = join(tmp.path, 'keys', 'deep', 'me.jwk')
    const r = await runCli(['keygen', '-o', file])
    expect(r.code).toBe(0)
    expect(JSON.parse(await readFile(file, 'utf8')).x).toBe(r.stdout.toString().trim())
    await expect(keygen({ output: file })).rejects.toBeInstanceOf(KeyFileExistsError)
    const { publicKey } = await keygen({ output: file, force: true })
    expect(JSON.parse(await readFile(file, 'utf8')).x).toBe(publicKey)
  })

  it('--if-missing keeps an existing key and --public writes the public key alone, which nodes trust', async () => {
    const { loadPublicKey } = await import('@codio/signing')
    const file = join(tmp.path, 'idem', 'publisher.jwk')
    const pub = join(tmp.path, 'idem', 'public', 'publisher.pub.jwk')
    const first = await runCli(['keygen', '-o', file, '--public', pub, '--if-missing'])
    expect(first.code).toBe(0)
    const key = first.stdout.toString().trim()
    const second = await runCli(['keygen', '-o', file, '--public', pub, '--if-missing'])
    expect(second.code).toBe(0)
    expect(second.stderr).toContain('kept')
    expect(second.stdout.toString().trim()).toBe(key)
    const jwk = JSON.parse(await readFile(pub, 'utf8'))
    expect(jwk).toEqual({ kty: 'OKP', crv: 'Ed25519', x: key })
    expect(encodePublicKey(await loadPublicKey(pub))).toBe(key)
  })
})
