/**
 * `codio token` and `codio publish --token-file` against a real origin process (its built
 * dist/main.js) whose ingest requires a publish token.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { spawn, type ChildProcess } from 'node:child_process'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from '@codio/sidecars'
import { lastLine, randomFile, runCli, tempDir, type TempDir } from './helpers.js'

const ORIGIN = fileURLToPath(new URL('../../../services/origin/dist/main.js', import.meta.url))

describe('codio token', () => {
  let tmp: TempDir
  beforeAll(async () => { tmp = await tempDir() })
  afterAll(async () => { await tmp.remove() })

  it('prints a fresh 256-bit base64url token without -o', async () => {
    const [a, b] = [await runCli(['token']), await runCli(['token'])]
    expect(a.code).toBe(0)
    expect(lastLine(a.stdout)).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(lastLine(a.stdout)).not.toBe(lastLine(b.stdout))
  })

  it('writes a 0600 file and prints nothing secret; refuses to replace it, keeps it with --if-missing', async () => {
    const file = join(tmp.path, 'tokens', 'admin')
    const made = await runCli(['token', '-o', file])
    expect(made.code).toBe(0)
    expect(made.stdout.toString()).toBe('')
    expect(made.stderr).toBe(`saved ${file}\n`)
    const token = (await readFile(file, 'utf8')).trim()
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    expect(made.stderr).not.toContain(token)

    const again = await runCli(['token', '-o', file])
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('token file already exists')
    const kept = await runCli(['token', '-o', file, '--if-missing'])
    expect(kept.code).toBe(0)
    expect(kept.stderr).toBe(`kept ${file}\n`)
    expect((await readFile(file, 'utf8')).trim()).toBe(token)
  })
})

describe('codio publish --token-file against an origin requiring a publish token', () => {
  let tmp: TempDir
  let origin: ChildProcess
  let url: string
  let output = ''

  beforeAll(async () => {
    tmp = await tempDir()
    for (const kind of ['publish', 'admin']) expect((await runCli(['token', '-o', join(tmp.path, kind)])).code).toBe(0)
    const [http, admin] = [await freePort(), await freePort()]
    const config = join(tmp.path, 'origin.toml')
    await writeFile(config, [
      `dataDir = "${join(tmp.path, 'data')}"`,
      '[http]', `port = ${http}`,
      '[admin]', `port = ${admin}`,
      '[publisher]', `keyFile = "${join(tmp.path, 'publisher.jwk')}"`,
      // configured tokens are enforced on loopback too
      '[auth]', `publishTokenFiles = ["${join(tmp.path, 'publish')}"]`, `adminTokenFiles = ["${join(tmp.path, 'admin')}"]`
    ].join('\n'))
    origin = spawn(process.execPath, [ORIGIN, '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] })
    origin.stdout!.on('data', (b: Buffer) => { output += b.toString() })
    origin.stderr!.on('data', (b: Buffer) => { output += b.toString() })
    url = `http://127.0.0.1:${http}`
    const end = Date.now() + 30_000
    while ((await fetch(`${url}/readyz`).catch(() => undefined))?.status !== 200) {
      if (Date.now() > end || origin.exitCode != null) throw new Error(`origin did not start: ${output}`)
      await new Promise(resolve => setTimeout(resolve, 100))
    }
  }, 60_000)

  afterAll(async () => {
    if (origin.exitCode == null && origin.signalCode == null) {
      const exited = new Promise(resolve => origin.once('exit', resolve))
      origin.kill('SIGTERM')
      await exited
    }
    await tmp.remove()
  })

  it('is refused without a token (401) and with an admin token (403), and publishes with the publish token from --token-file or $CODIO_TOKEN_FILE', async () => {
    const { path } = await randomFile(tmp.path, 'a.bin', 300_000)
    const none = await runCli(['publish', path, '--origin', url, '-q'])
    expect(none.code).toBe(1)
    expect(none.stderr).toMatch(/401/)
    const wrong = await runCli(['publish', path, '--origin', url, '-q', '--token-file', join(tmp.path, 'admin')])
    expect(wrong.code).toBe(1)
    // the origin answers at the headers and closes: its 403 and reason, not the cut upload's EPIPE
    expect(wrong.stderr).toMatch(/^codio publish: origin answered 403 Forbidden: this call needs the publish scope/)
    const flag = await runCli(['publish', path, '--origin', url, '-q', '--token-file', join(tmp.path, 'publish')])
    expect(flag.code).toBe(0)
    expect(lastLine(flag.stdout)).toMatch(/^bafy/)
    const env = await runCli(['publish', path, '--origin', url, '-q'], { env: { CODIO_TOKEN_FILE: join(tmp.path, 'publish') } })
    expect(env.code).toBe(0)
    expect(lastLine(env.stdout)).toMatch(/^bafy/) // a new manifest (its createdAt differs), same bytes
    const missing = await runCli(['publish', path, '--origin', url, '-q', '--token-file', join(tmp.path, 'nope')])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain(join(tmp.path, 'nope'))
    expect(output).not.toContain((await readFile(join(tmp.path, 'publish'), 'utf8')).trim())
  })
})
