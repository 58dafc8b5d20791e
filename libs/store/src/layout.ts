import { randomBytes } from 'node:crypto'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import type { CID } from 'multiformats/cid'
import { InvalidBlockIdError } from './errors.js'

export const BLOCKS_DIR = 'blocks'
export const CONTENTS_DIR = 'contents'
export const STAGING_DIR = 'staging'
export const TMP_SUFFIX = '.tmp'

/**
 * Longest key (file name) the store accepts: a sha2-256 CIDv1 is 59 characters; 200 leaves
 * room for the temporary-file suffix within the usual 255-byte file-name limit.
 */
export const MAX_KEY_LENGTH = 200

/**
 * The file name of a CID: its CIDv1 base32 string (case-insensitive file systems are safe,
 * and a CIDv0 and its CIDv1 name the same block).
 *
 * @throws InvalidBlockIdError when that name would exceed {@link MAX_KEY_LENGTH} characters
 */
export function cidKey (cid: CID): string {
  const key = cid.toV1().toString()
  if (key.length > MAX_KEY_LENGTH) throw new InvalidBlockIdError(`CID ${key.slice(0, 32)}… is ${key.length} characters long, more than the ${MAX_KEY_LENGTH} a block name may have`)
  return key
}

/**
 * Shard directory: the two characters before the last one of the key, as go-ds-flatfs
 * `next-to-last/2` does. The leading characters of a CIDv1 string are the same for every
 * block (version, codec, hash), so they would put everything in one directory.
 */
export function shardOf (key: string): string {
  return key.slice(-3, -1)
}

export function blockPath (root: string, key: string): string {
  return join(root, BLOCKS_DIR, shardOf(key), key)
}

export function tmpName (name: string): string {
  return `${name}.${randomBytes(6).toString('hex')}${TMP_SUFFIX}`
}

/** fsync a directory so renames and unlinks in it survive a power loss. */
export async function syncDir (dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/** Writes `bytes` to a new file `path` and fsyncs it. */
export async function writeDurable (path: string, bytes: Uint8Array): Promise<void> {
  const fh = await open(path, 'wx')
  try {
    await fh.writeFile(bytes)
    await fh.sync()
  } finally {
    await fh.close()
  }
}

export function isErrno (err: unknown, code: string): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === code
}
