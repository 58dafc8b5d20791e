import { createHash, timingSafeEqual } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import type { AuthConfig } from './config.js'
import { TokenFileError } from './errors.js'
import { GRANTS, SCOPES, type Scope } from './scopes.js'

/** Shortest token accepted from a file, characters: a guessable token is no credential. */
export const MIN_TOKEN_LENGTH = 16

// RFC 6750 §2.1 b64token: what may follow "Bearer " in an Authorization header
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/

/**
 * The tokens in a token file's text: one per line, blank lines and `#` comments ignored,
 * surrounding white space trimmed.
 * @throws TokenFileError when there is none, or a line is not an RFC 6750 token of at least
 *   {@link MIN_TOKEN_LENGTH} characters (the line number is given, never the line)
 */
export function parseTokens (text: string, file: string): string[] {
  const tokens: string[] = []
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    if (!B64TOKEN.test(line)) throw new TokenFileError(file, `token file ${file}, line ${i + 1}: not a bearer token (letters, digits and -._~+/ only)`)
    if (line.length < MIN_TOKEN_LENGTH) throw new TokenFileError(file, `token file ${file}, line ${i + 1}: a token needs at least ${MIN_TOKEN_LENGTH} characters`)
    tokens.push(line)
  })
  if (tokens.length === 0) throw new TokenFileError(file, `token file ${file} holds no token`)
  return tokens
}

const unreadable = (file: string, err: unknown): TokenFileError =>
  new TokenFileError(file, `cannot read the token file ${file}: ${(err as Error).message}`, { cause: err })

/** Every token in `file` (see {@link parseTokens}). @throws TokenFileError */
export async function readTokens (file: string): Promise<string[]> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw unreadable(file, err)
  }
  return parseTokens(text, file)
}

/**
 * The token a client sends, from `file`: its first token (a file with several is mid-rotation;
 * the first line is the current one). Synchronous, for start-up code. @throws TokenFileError
 */
export function readClientTokenSync (file: string): string {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw unreadable(file, err)
  }
  return parseTokens(text, file)[0]
}

/** {@link readClientTokenSync}, asynchronously. @throws TokenFileError */
export async function readClientToken (file: string): Promise<string> {
  return (await readTokens(file))[0]
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest()

/**
 * The valid tokens of a process and the scopes each grants. Only SHA-256 digests are kept;
 * a presented token is hashed too and compared with every digest with `timingSafeEqual`
 * (equal lengths, constant time, no early exit on a match), so the time taken tells nothing
 * about how much of a token was right or which one matched.
 */
export class TokenSet {
  private constructor (private readonly entries: ReadonlyArray<{ digest: Buffer, scope: Scope }>) {}

  /** Read every file the `[auth]` table names. @throws TokenFileError naming the first bad file */
  static async load (config: Pick<AuthConfig, 'readTokenFiles' | 'adminTokenFiles' | 'publishTokenFiles' | 'nodeTokenFiles'>): Promise<TokenSet> {
    const files: Record<Scope, string[]> = { read: config.readTokenFiles, admin: config.adminTokenFiles, publish: config.publishTokenFiles, node: config.nodeTokenFiles }
    const entries: Array<{ digest: Buffer, scope: Scope }> = []
    for (const scope of SCOPES) {
      for (const file of files[scope]) {
        for (const token of await readTokens(file)) entries.push({ digest: sha256(token), scope })
      }
    }
    return new TokenSet(entries)
  }

  /** A set of the given tokens (tests, programmatic use). */
  static of (tokens: Partial<Record<Scope, string[]>>): TokenSet {
    return new TokenSet(SCOPES.flatMap(scope => (tokens[scope] ?? []).map(t => ({ digest: sha256(t), scope }))))
  }

  /** Number of tokens. */
  get size (): number { return this.entries.length }

  /** Whether some token grants `scope` (directly or through an including scope). */
  canGrant (scope: Scope): boolean {
    return this.entries.some(e => GRANTS[e.scope].includes(scope))
  }

  /** The scopes `token` grants; empty when it is no valid token. */
  scopesOf (token: string): Set<Scope> {
    const digest = sha256(token)
    const granted = new Set<Scope>()
    for (const e of this.entries) {
      // every entry is compared, whatever matched before
      const same = timingSafeEqual(digest, e.digest)
      for (const s of GRANTS[e.scope]) if (same) granted.add(s)
    }
    return granted
  }
}
