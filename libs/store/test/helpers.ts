import { createHash } from 'node:crypto'
import { mkdtemp, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'

export function block (text: string, codec = 0x55): { cid: CID, bytes: Uint8Array } {
  const bytes = new TextEncoder().encode(text)
  return { cid: CID.createV1(codec, Digest.create(0x12, createHash('sha256').update(bytes).digest())), bytes }
}

export async function tempDir (): Promise<string> {
  return mkdtemp(join(tmpdir(), 'codio-store-'))
}

/** Every regular file under `dir`, relative paths, sorted. */
export async function filesUnder (dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries.filter(e => e.isFile()).map(e => join(e.parentPath, e.name).slice(dir.length + 1)).sort()
}
