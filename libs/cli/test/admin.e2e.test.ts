/**
 * `codio admin` end to end: the built CLI against a real local cluster (`codio cluster`: real
 * processes, their real admin APIs and the real tracker), found through `.codio/cluster.json`
 * in the working directory, as an operator would run it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { fromJson } from '@bufbuild/protobuf'
import { GetPeerStatsResponseSchema, GetStatusResponseSchema } from '@codio/proto'
import type { ClusterFile, ClusterProcess } from '../src/endpoints.js'
import { BIN, runCli, tempDir, type CliResult, type TempDir } from './helpers.js'

const exec = promisify(execFile)

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function until (check: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

describe('codio admin against a local cluster', () => {
  let tmp: TempDir
  let cluster: ChildProcess
  let output = ''
  let file: ClusterFile
  let cid: string
  let sample: Buffer
  const byName = (name: string): ClusterProcess => file.processes.find(p => p.name === name)!
  const admin = async (args: string[]): Promise<CliResult> => await runCli(['admin', ...args], { cwd: tmp.path })
  const out = (r: CliResult): string => r.stdout.toString('utf8')

  beforeAll(async () => {
    tmp = await tempDir()
    sample = randomBytes(24 * 1024 * 1024 + 12_345)
    await writeFile(join(tmp.path, 'sample.bin'), sample)
    cluster = spawn(process.execPath, [BIN, 'cluster', '--dir', join(tmp.path, '.codio'), '--edges', '2', '--relays', '1', '--sample', join(tmp.path, 'sample.bin'), '--log-level', 'warn'],
      { cwd: tmp.path, stdio: ['ignore', 'pipe', 'pipe'] })
    cluster.stdout!.on('data', (b: Buffer) => { output += b.toString() })
    cluster.stderr!.on('data', (b: Buffer) => { output += b.toString() })
    await until(() => /sample content ID: (\S+)/.test(output) || cluster.exitCode != null, 180_000, 'the cluster to publish its sample')
    if (cluster.exitCode != null) throw new Error(`cluster exited early:\n${output}`)
    cid = /sample content ID: (\S+)/.exec(output)![1]
    file = JSON.parse(await readFile(join(tmp.path, '.codio', 'cluster.json'), 'utf8'))
  }, 240_000)

  afterAll(async () => {
    if (cluster != null && cluster.exitCode == null) {
      const exited = new Promise(resolve => cluster.once('exit', resolve))
      cluster.kill('SIGTERM')
      await exited
    }
    await tmp?.remove()
  }, 60_000)

  it('status: the first edge of cluster.json by default, any process by name, as a table or protobuf JSON', async () => {
    const edge = await admin(['status'])
    expect(edge.stderr).toBe('')
    expect(out(edge)).toMatch(/^role:\s+edge$/m)
    expect(out(edge)).toMatch(new RegExp(`^peer:\\s+${byName('edge-1').peerId}$`, 'm'))
    const origin = await admin(['--admin', 'origin-1', 'status', '--json'])
    const status = fromJson(GetStatusResponseSchema, JSON.parse(out(origin)))
    expect(status.role).toBe('origin')
    expect(status.peerId).toBe(byName('origin-1').peerId)
    expect(status.storedBytes).toBeGreaterThanOrEqual(BigInt(sample.length))
  }, 30_000)

  it('content and peers: what a node holds and from whom it fetched it', async () => {
    expect(out(await admin(['--admin', 'origin-1', 'content'])).split('\n')).toContain(cid)
    const res = await fetch(`${byName('edge-1').http}/content/${cid}`)
    expect(Buffer.compare(Buffer.from(await res.arrayBuffer()), sample)).toBe(0)
    await until(async () => out(await admin(['content'])).includes(cid), 30_000, 'edge-1 to hold the content')

    const peers = fromJson(GetPeerStatsResponseSchema, JSON.parse(out(await admin(['peers', '--json']))))
    const received = peers.peers.reduce((n, p) => n + p.bytesReceived, 0n)
    expect(received).toBeGreaterThanOrEqual(BigInt(sample.length))
    const table = out(await admin(['peers'])).trimEnd().split('\n')
    expect(table[0]).toMatch(/^PEER\s+RECEIVED\s+SENT\s+DOWN\s+UP\s+CHOKED\s+INTERESTED\s+FAILURES$/)
    const busiest = peers.peers.reduce((a, b) => b.bytesReceived > a.bytesReceived ? b : a)
    expect(table).toContainEqual(expect.stringMatching(new RegExp(`^${busiest.peerId}\\s+\\d+\\.\\d\\d [kM]B \\(${busiest.chunksReceived}\\)`)))
  }, 60_000)

  it('drain: the edge says how many requests are in flight, serves them to the end, then exits 0', async () => {
    const edge = byName('edge-2')
    const target = join(tmp.path, 'during-drain.bin')
    const download = exec('curl', ['-sS', '-f', '--max-time', '60', '--limit-rate', '4M', '-o', target, `${edge.http}/content/${cid}`])
    await until(async () => ((await stat(target).catch(() => undefined))?.size ?? 0) > 0, 15_000, 'the download to start')
    const r = await admin(['--admin', 'edge-2', 'drain', '--timeout', '30s'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(out(r)).toBe('draining: 1 request in flight; the node exits once they are served (at most 30s)\n')
    await download
    expect(Buffer.compare(await readFile(target), sample)).toBe(0)
    await until(() => !alive(edge.pid), 15_000, 'the drained edge to exit')
    await until(() => output.includes('edge-2 exited (0): drained'), 5_000, 'its exit code, 0')
    const gone = await admin(['--admin', 'edge-2', 'status'])
    expect(gone.code).toBe(1)
    expect(gone.stderr).toMatch(/^codio admin status: unavailable: .*is a Codio process listening at http:\/\/127\.0\.0\.1:\d+\?\)\n$/)
  }, 60_000)
})
