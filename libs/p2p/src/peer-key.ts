import { createPrivateKey } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { generateKeyPair, generateKeyPairFromSeed, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { PeerKeyFileError } from './errors.js'

/**
 * Load the node's libp2p identity from `path` — a protobuf-encoded private key, as libp2p
 * marshals it, or a PEM PKCS#8 Ed25519 private key (RFC 8410; what OpenSSL and Helm's
 * `genPrivateKey "ed25519"` write, so a Kubernetes Secret can hold it) — or create an Ed25519 one there (mode 0600, atomic rename) when the file does
 * not exist. A stable key gives a stable peer ID across restarts, which keeps provider
 * records and bootstrap lists valid.
 *
 * @throws PeerKeyFileError when the file exists but does not decode as a private key (or a PEM
 *   one is not Ed25519)
 */
export async function loadOrCreatePeerKey (path: string): Promise<PrivateKey> {
  let bytes: Uint8Array | undefined
  try {
    bytes = await readFile(path)
  } catch (err: any) {
    if (err.code !== 'ENOENT') throw new PeerKeyFileError(`cannot read peer key ${path}: ${err.message}`, { cause: err })
  }
  if (bytes != null) {
    try {
      return isPem(bytes) ? await fromPem(bytes) : privateKeyFromProtobuf(bytes)
    } catch (err: any) {
      throw new PeerKeyFileError(`peer key ${path} is not a libp2p private key: ${err.message}`, { cause: err })
    }
  }
  const key = await generateKeyPair('Ed25519')
  await mkdir(dirname(path), { recursive: true })
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, privateKeyToProtobuf(key), { mode: 0o600 })
  await rename(tmp, path)
  return key
}

function isPem (bytes: Uint8Array): boolean {
  return Buffer.from(bytes.subarray(0, 64)).toString('latin1').trimStart().startsWith('-----BEGIN')
}

async function fromPem (bytes: Uint8Array): Promise<PrivateKey> {
  const jwk = createPrivateKey(Buffer.from(bytes)).export({ format: 'jwk' })
  if (jwk.crv !== 'Ed25519' || jwk.d == null) throw new Error(`PEM key is ${jwk.crv ?? jwk.kty}, not Ed25519`)
  return await generateKeyPairFromSeed('Ed25519', Buffer.from(jwk.d, 'base64url'))
}
