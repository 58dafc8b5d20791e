import { createHash } from 'node:crypto'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { afterAll } from '@jest/globals'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'

export function block (text: string, codec = 0x55): { cid: CID, bytes: Uint8Array } {
  const bytes = new TextEncoder().encode(text)
  return { cid: CID.createV1(codec, Digest.create(0x12, createHash('sha256').update(bytes).digest())), bytes }
}

const made: string[] = []
afterAll(async () => { await Promise.all(made.map(async d => rm(d, { recursive: true, force: true }))) })

/** A fresh directory, removed after the test file's last test. */
export async function tempDir (): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'codio-store-'))
  made.push(dir)
  return dir
}

/** Every regular file under `dir`, relative paths, sorted. */
export async function filesUnder (dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries.filter(e => e.isFile()).map(e => join(e.parentPath, e.name).slice(dir.length + 1)).sort()
}
