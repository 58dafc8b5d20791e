import { access, mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { encodePublicKey, generateKeyPair, loadKeyPair, saveKeyPair, savePublicKey, type PublisherKeyPair } from '@codio/signing'
import { KeyFileExistsError } from '../errors.js'

/** Where `keygen` saves the publisher key unless told otherwise, relative to the working directory. */
export const DEFAULT_KEY_FILE = join('.codio', 'publisher.jwk')

export interface KeygenOptions {
  /** Key file path. Default `.codio/publisher.jwk`; missing directories are created. */
  output?: string
  /** Replace an existing key file. */
  force?: boolean
  /**
   * Also write the public key alone to this file, as a public-only JWK (RFC 8037), for nodes
   * that must trust the publisher without holding its private key (`[trust] publisherKeys`).
   */
  publicOutput?: string
  /** Keep an existing key file and report its public key, instead of failing (idempotent set-up). */
  ifMissing?: boolean
}

export interface KeygenResult {
  path: string
  /** The public key, base64url (`encodePublicKey`). */
  publicKey: string
  /** False when `ifMissing` kept a key that was already there. */
  created: boolean
}

/**
 * Generate an Ed25519 publisher key pair and save it as a JWK file (with `ifMissing`, keep the
 * one already there); optionally write its public key alone to `publicOutput`.
 *
 * @throws KeyFileExistsError when the file exists and neither `force` nor `ifMissing` is set
 * @throws KeyFileError when `ifMissing` finds a file that is not a valid key pair
 */
export async function keygen (options: KeygenOptions = {}): Promise<KeygenResult> {
  const path = options.output ?? DEFAULT_KEY_FILE
  const force = options.force === true
  let keyPair: PublisherKeyPair
  let created = true
  if (options.ifMissing === true && !force && await exists(path)) {
    keyPair = await loadKeyPair(path)
    created = false
  } else {
    // checked before generating so the usual refusal is ours and carries the --force hint;
    // saveKeyPair refuses too, which covers a file appearing in between
    if (!force && await exists(path)) throw new KeyFileExistsError(path)
    await mkdir(dirname(path), { recursive: true })
    keyPair = await generateKeyPair()
    try {
      await saveKeyPair(path, keyPair, { overwrite: force })
    } catch (err: any) {
      if (!force && err?.name === 'KeyFileError' && await exists(path)) throw new KeyFileExistsError(path)
      throw err
    }
  }
  const publicKey = encodePublicKey(keyPair.publicKey)
  if (options.publicOutput != null) await savePublicKey(options.publicOutput, keyPair.publicKey, { overwrite: true })
  return { path, publicKey, created }
}

async function exists (path: string): Promise<boolean> {
  try {
    await access(path)
    return true
  } catch {
    return false
  }
}
