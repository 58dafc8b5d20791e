import { readFile } from 'node:fs/promises'
import type { ConnectionOptions } from 'nats'
import { NatsCredentialsError } from './errors.js'

/** How a node or the tracker logs in to NATS; secrets come from files (Kubernetes Secrets). */
export interface NatsAuthInit {
  /** User name, with `passwordFile`. */
  user?: string
  /** File holding the user's password. */
  passwordFile?: string
  /** File holding a NATS token (instead of user and password). */
  tokenFile?: string
}

async function secret (path: string, what: string): Promise<string> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new NatsCredentialsError(`cannot read the NATS ${what} file ${path}: ${(err as Error).message}`, { cause: err })
  }
  // a Secret written with `echo` ends in a newline that is not part of the secret
  const value = text.replace(/\r?\n$/, '')
  if (value === '') throw new NatsCredentialsError(`the NATS ${what} file ${path} is empty`)
  return value
}

/**
 * The nats.js connection options for `init`: `{ user, pass }`, `{ token }`, or `{}` when no
 * credentials are configured (an open server).
 *
 * @throws NatsCredentialsError when a file cannot be read or is empty, or a password file is
 *   given without a user (or the other way round)
 */
export async function natsAuthOptions (init: NatsAuthInit = {}): Promise<Partial<ConnectionOptions>> {
  const user = init.user ?? ''
  const passwordFile = init.passwordFile ?? ''
  const tokenFile = init.tokenFile ?? ''
  if ((user === '') !== (passwordFile === '')) throw new NatsCredentialsError('NATS user and password file go together: set both or neither')
  if (tokenFile !== '' && user !== '') throw new NatsCredentialsError('set a NATS token file or a user and password file, not both')
  if (tokenFile !== '') return { token: await secret(tokenFile, 'token') }
  if (user !== '') return { user, pass: await secret(passwordFile, 'password') }
  return {}
}
