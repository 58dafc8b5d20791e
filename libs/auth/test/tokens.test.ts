import { describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseTokens, readClientTokenSync, TokenFileError, TokenSet } from '../src/index.js'

const token = (): string => randomBytes(32).toString('base64url')

describe('token files', () => {
  it('reads one token a line, skipping blank lines and comments; every line of every file is valid', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'codio-auth-'))
    try {
      const [a, b, c] = [token(), token(), token()]
      await writeFile(join(dir, 'admin'), `# rotated 2026-12-01\n${a}\n\n  ${b}  \r\n`)
      await writeFile(join(dir, 'read'), `${c}\n`)
      const set = await TokenSet.load({ adminTokenFiles: [join(dir, 'admin')], readTokenFiles: [join(dir, 'read')], publishTokenFiles: [], nodeTokenFiles: [] })
      expect(set.size).toBe(3)
      expect([...set.scopesOf(a)].sort()).toEqual(['admin', 'read'])
      expect([...set.scopesOf(b)].sort()).toEqual(['admin', 'read'])
      expect([...set.scopesOf(c)]).toEqual(['read'])
      expect(set.scopesOf(token()).size).toBe(0)
      expect(set.scopesOf(`${a}x`).size).toBe(0)
      expect(set.scopesOf('').size).toBe(0)
      expect(set.canGrant('read')).toBe(true)
      expect(set.canGrant('publish')).toBe(false)
      // a client sends the first (current) token of a file
      expect(readClientTokenSync(join(dir, 'admin'))).toBe(a)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('refuses an unreadable, empty or malformed file with a TokenFileError naming it, never showing a token', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'codio-auth-'))
    try {
      const missing = join(dir, 'missing')
      const empty = join(dir, 'empty')
      await writeFile(empty, '# nothing yet\n\n')
      for (const file of [missing, empty]) {
        const err = await TokenSet.load({ readTokenFiles: [file], adminTokenFiles: [], publishTokenFiles: [], nodeTokenFiles: [] }).catch((e: unknown) => e)
        expect(err).toBeInstanceOf(TokenFileError)
        expect((err as TokenFileError).name).toBe('TokenFileError')
        expect((err as TokenFileError).file).toBe(file)
        expect((err as Error).message).toContain(file)
      }
      const secret = 'has a space in it, not a bearer token'
      expect(() => parseTokens(`${token()}\n${secret}\n`, 'f')).toThrow(/line 2/)
      expect(() => parseTokens(`${token()}\n${secret}\n`, 'f')).not.toThrow(new RegExp(secret))
      expect(() => parseTokens('short\n', 'f')).toThrow(/at least 16 characters/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
