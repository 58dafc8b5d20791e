import { randomBytes } from 'node:crypto'
import { access, link, mkdir, rm, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { readTokens } from '@codio/auth'
import { TokenFileExistsError } from '../errors.js'

/** Random bytes in a token made by `codio token`: 256 bits, base64url (43 characters). */
export const TOKEN_BYTES = 32

export interface TokenOptions {
  /** Write the token to this file (mode 0600, missing directories created) instead of returning it for stdout. */
  output?: string
  /** Keep an existing file (it must hold a valid token) instead of failing: for one-shot set-up jobs. */
  ifMissing?: boolean
}

export interface TokenResult {
  /** The new token when no `output` was given (the caller prints it); undefined otherwise, so nothing secret is shown. */
  token?: string
  /** The file written or kept. */
  path?: string
  /** False when `ifMissing` kept a file that was there. */
  created: boolean
}

/** A new bearer token: {@link TOKEN_BYTES} random bytes, base64url, no padding. */
export function newToken (): string {
  return randomBytes(TOKEN_BYTES).toString('base64url')
}

/**
 * Make a bearer token for the `[auth]` token files of Codio processes (and for clients'
 * `--token-file`). With `output`, the file appears whole or not at all (written aside, then
 * linked into place, which never replaces an existing file).
 *
 * @throws TokenFileExistsError when `output` exists and `ifMissing` is not set
 * @throws TokenFileError when `ifMissing` finds a file holding no valid token
 */
export async function token (options: TokenOptions = {}): Promise<TokenResult> {
  const value = newToken()
  if (options.output == null) return { token: value, created: true }
  const path = options.output
  if (await exists(path)) {
    if (options.ifMissing !== true) throw new TokenFileExistsError(path)
    await readTokens(path) // a kept file must be usable
    return { path, created: false }
  }
  await mkdir(dirname(path), { recursive: true })
  const aside = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}`)
  await writeFile(aside, `${value}\n`, { mode: 0o600, flag: 'wx' })
  try {
    await link(aside, path)
  } catch (err: any) {
    if (err?.code !== 'EEXIST') throw err
    if (options.ifMissing !== true) throw new TokenFileExistsError(path)
    await readTokens(path)
    return { path, created: false }
  } finally {
    await rm(aside, { force: true })
  }
  return { path, created: true }
}

async function exists (path: string): Promise<boolean> {
  return await access(path).then(() => true, () => false)
}
