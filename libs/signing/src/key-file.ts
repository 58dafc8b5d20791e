import { createPrivateKey, createPublicKey, randomBytes, type JsonWebKey } from 'node:crypto'
import { link, mkdir, open, readFile, rename, unlink } from 'node:fs/promises'
import { dirname, basename, join } from 'node:path'
import { derivePublicKey, generateKeyPair, type PublisherKeyPair } from './generate-key-pair.js'
import { equalBytes } from './ed25519.js'
import { InvalidKeyError, KeyFileError } from './errors.js'
import { decodeKeyBytes, decodePublicKey, encodePublicKey, isKeyString } from './public-key.js'

/** An Ed25519 key as a JSON Web Key (RFC 8037 §2). `d` is absent in a public-only file. */
export interface Ed25519Jwk {
  kty: 'OKP'
  crv: 'Ed25519'
  x: string
  d?: string
}

export interface SaveKeyPairOptions {
  /** Replace an existing file. Default `false`: an existing file is a `KeyFileError`. */
  overwrite?: boolean
}

/**
 * Writes a key pair as an RFC 8037 JWK `{"kty":"OKP","crv":"Ed25519","x":…,"d":…}` (`x` the
 * public key, `d` the seed, both base64url without padding).
 *
 * The file gets mode 0600 and appears atomically (written to a temporary file in the same
 * directory, fsynced, then linked or renamed into place); parent directories are created.
 *
 * @throws KeyFileError if the file exists and `overwrite` is not set, or on any I/O failure
 * @throws InvalidKeyError if `kp.publicKey` is not the public key of `kp.privateKey`
 */
export async function saveKeyPair (path: string, kp: PublisherKeyPair, opts: SaveKeyPairOptions = {}): Promise<void> {
  const derived = await derivePublicKey(kp.privateKey)
  if (!(kp.publicKey instanceof Uint8Array) || !equalBytes(derived, kp.publicKey)) {
    throw new InvalidKeyError('publicKey is not the public key of privateKey')
  }
  const jwk: Ed25519Jwk = {
    kty: 'OKP',
    crv: 'Ed25519',
    x: encodePublicKey(kp.publicKey),
    d: Buffer.from(kp.privateKey).toString('base64url')
  }
  await writeJwk(path, jwk, 0o600, opts.overwrite === true)
}

/**
 * Writes a public key alone as an RFC 8037 JWK `{"kty":"OKP","crv":"Ed25519","x":…}` (mode
 * 0644), for nodes that trust a publisher without holding its private key; atomically, as
 * {@link saveKeyPair} does.
 *
 * @throws KeyFileError if the file exists and `overwrite` is not set, or on any I/O failure
 * @throws InvalidKeyError if `publicKey` is not 32 bytes
 */
export async function savePublicKey (path: string, publicKey: Uint8Array, opts: SaveKeyPairOptions = {}): Promise<void> {
  await writeJwk(path, { kty: 'OKP', crv: 'Ed25519', x: encodePublicKey(publicKey) }, 0o644, opts.overwrite === true)
}

/** A JWK file that appears whole: temporary file in the same directory, fsync, then link or rename. */
async function writeJwk (path: string, jwk: Ed25519Jwk, mode: number, overwrite: boolean): Promise<void> {
  const dir = dirname(path)
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
  try {
    await mkdir(dir, { recursive: true })
    const fh = await open(tmp, 'wx', mode)
    try {
      await fh.chmod(mode) // in case the umask is unusual
      await fh.writeFile(JSON.stringify(jwk) + '\n')
      await fh.sync()
    } finally {
      await fh.close()
    }
    if (overwrite) {
      await rename(tmp, path)
    } else {
      // link() fails with EEXIST atomically, so no check-then-write race.
      await link(tmp, path)
      await unlink(tmp)
    }
    await syncDir(dir)
  } catch (err) {
    await unlink(tmp).catch(() => {})
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new KeyFileError(path, 'file exists; pass { overwrite: true } to replace it', { cause: err })
    }
    throw new KeyFileError(path, `cannot write: ${(err as Error).message}`, { cause: err })
  }
}

/**
 * Reads a key pair written by {@link saveKeyPair} (an RFC 8037 Ed25519 JWK with `d`), or a PEM
 * PKCS#8 Ed25519 private key (RFC 8410), e.g. from a Kubernetes Secret.
 *
 * @throws KeyFileError with a `reason`: unreadable file, not JSON, not an object, `kty` not
 *   "OKP", `crv` not "Ed25519", `x` or `d` missing or not 32 bytes of base64url, or `x` not
 *   the public key of `d`
 */
export async function loadKeyPair (path: string): Promise<PublisherKeyPair> {
  const jwk = await readJwk(path)
  if (jwk.d === undefined) throw new KeyFileError(path, 'no private key "d" (public-only key file)')
  let privateKey: Uint8Array
  try {
    privateKey = decodeKeyBytes(jwk.d, '"d"', false)
  } catch (cause) {
    throw new KeyFileError(path, (cause as Error).message, { cause })
  }
  const publicKey = await derivePublicKey(privateKey)
  if (!equalBytes(publicKey, jwk.publicKey)) {
    throw new KeyFileError(path, '"x" is not the public key of "d"')
  }
  return { publicKey, privateKey }
}

/**
 * Resolves a publisher public key given either as a base64url string (43 characters) or as a
 * path to an RFC 8037 JWK file or a PEM Ed25519 key (SPKI public or PKCS#8 private, RFC 8410);
 * a public-only JWK (no `d`) is accepted, and when `d` is
 * present it must match `x`.
 *
 * @returns 32 bytes
 * @throws InvalidKeyError if a key string is malformed
 * @throws KeyFileError if the file cannot be read or is not a valid Ed25519 JWK
 */
export async function loadPublicKey (pathOrString: string): Promise<Uint8Array> {
  if (isKeyString(pathOrString)) return decodePublicKey(pathOrString)
  const jwk = await readJwk(pathOrString)
  if (jwk.d !== undefined) {
    let privateKey: Uint8Array
    try {
      privateKey = decodeKeyBytes(jwk.d, '"d"', false)
    } catch (cause) {
      throw new KeyFileError(pathOrString, (cause as Error).message, { cause })
    }
    if (!equalBytes(await derivePublicKey(privateKey), jwk.publicKey)) {
      throw new KeyFileError(pathOrString, '"x" is not the public key of "d"')
    }
  }
  return jwk.publicKey
}

async function readJwk (path: string): Promise<{ publicKey: Uint8Array, d?: unknown }> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code
    throw new KeyFileError(path, code === 'ENOENT' ? 'no such file' : `cannot read: ${(cause as Error).message}`, { cause })
  }
  let json: unknown
  if (text.trimStart().startsWith('-----BEGIN')) {
    json = pemToJwk(path, text)
  } else {
    try {
      json = JSON.parse(text)
    } catch (cause) {
      throw new KeyFileError(path, `not valid JSON: ${(cause as Error).message}`, { cause })
    }
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new KeyFileError(path, 'not a JSON object (expected an RFC 8037 JWK)')
  }
  const o = json as Record<string, unknown>
  if (o.kty !== 'OKP') throw new KeyFileError(path, `"kty" must be "OKP", got ${JSON.stringify(o.kty)}`)
  if (o.crv !== 'Ed25519') throw new KeyFileError(path, `"crv" must be "Ed25519", got ${JSON.stringify(o.crv)}`)
  if (o.x === undefined) throw new KeyFileError(path, 'no public key "x"')
  let publicKey: Uint8Array
  try {
    publicKey = decodeKeyBytes(o.x, '"x"', true)
  } catch (cause) {
    throw new KeyFileError(path, (cause as Error).message, { cause })
  }
  return { publicKey, d: o.d }
}

/**
 * A PEM Ed25519 key — PKCS#8 private (RFC 8410 §7, what OpenSSL and Helm's `genPrivateKey
 * "ed25519"` write) or SPKI public (RFC 8410 §4) — as the JWK {@link readJwk} checks.
 */
function pemToJwk (path: string, pem: string): JsonWebKey {
  try {
    return pem.includes('PRIVATE KEY') ? createPrivateKey(pem).export({ format: 'jwk' }) : createPublicKey(pem).export({ format: 'jwk' })
  } catch (cause) {
    throw new KeyFileError(path, `not a PEM Ed25519 key: ${(cause as Error).message}`, { cause })
  }
}

async function syncDir (dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/**
 * The key pair in `path`, or a new one generated and saved there (mode 0600) when the file
 * does not exist. If another process creates the file at the same moment, its key is loaded.
 *
 * @returns the key pair and whether it was created by this call
 * @throws KeyFileError when the file exists but is not a valid Ed25519 JWK key pair
 */
export async function loadOrCreateKeyPair (path: string): Promise<{ keyPair: PublisherKeyPair, created: boolean }> {
  try {
    return { keyPair: await loadKeyPair(path), created: false }
  } catch (err: any) {
    if (err.cause?.code !== 'ENOENT') throw err
  }
  const keyPair = await generateKeyPair()
  try {
    await saveKeyPair(path, keyPair)
  } catch (err) {
    // lost a race with another creator: theirs is the key
    if (err instanceof KeyFileError) return { keyPair: await loadKeyPair(path), created: false }
    throw err
  }
  return { keyPair, created: true }
}
