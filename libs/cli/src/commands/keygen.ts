import { access, mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { encodePublicKey, generateKeyPair, saveKeyPair } from '@codio/signing'
import { KeyFileExistsError } from '../errors.js'

/** Where `keygen` saves the publisher key unless told otherwise, relative to the working directory. */
export const DEFAULT_KEY_FILE = join('.codio', 'publisher.jwk')

export interface KeygenOptions {
  /** Key file path. Default `.codio/publisher.jwk`; missing directories are created. */
  output?: string
  /** Replace an existing key file. */
  force?: boolean
}

export interface KeygenResult {
  path: string
  /** The public key, base64url (`encodePublicKey`). */
  publicKey: string
}

/**
 * Generate an Ed25519 publisher key pair and save it as a JWK file.
 *
 * @throws KeyFileExistsError when the file exists and `force` is not set
 */
export async function keygen (options: KeygenOptions = {}): Promise<KeygenResult> {
  const path = options.output ?? DEFAULT_KEY_FILE
  const force = options.force === true
  // checked before generating so the usual refusal is ours and carries the --force hint;
  // saveKeyPair refuses too, which covers a file appearing in between
  if (!force && await exists(path)) throw new KeyFileExistsError(path)
  await mkdir(dirname(path), { recursive: true })
  const keyPair = await generateKeyPair()
  try {
    await saveKeyPair(path, keyPair, { overwrite: force })
  } catch (err: any) {
    if (!force && err?.name === 'KeyFileError' && await exists(path)) throw new KeyFileExistsError(path)
    throw err
  }
  return { path, publicKey: encodePublicKey(keyPair.publicKey) }
}

async function exists (path: string): Promise<boolean> {
  try {
    await access(path)
    return true
  } catch {
    return false
  }
}
