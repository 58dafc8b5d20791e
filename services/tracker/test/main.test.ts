/**
 * The built tracker as a real process (`node dist/main.js --config tracker.toml`), the way an
 * operator or the local cluster runs it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort, startNats, startRedis, type Sidecar } from '@codio/sidecars'
import { TrackerClient } from '@codio/tracker'
import { contentId, node, peerId, until } from './helpers.js'

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url))

let nats: Sidecar
let redis: Sidecar
let dir: string

beforeAll(async () => {
  ;[nats, redis] = await Promise.all([startNats(), startRedis()])
  dir = await mkdtemp(join(tmpdir(), 'codio-tracker-main-'))
})

afterAll(async () => {
  await Promise.all([nats.stop(), redis.stop()])
  await rm(dir, { recursive: true, force: true })
})

interface Run { child: ChildProcess, output: () => string, exit: Promise<number | null> }

function run (args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout!.on('data', (b: Buffer) => { output += b.toString() })
  child.stderr!.on('data', (b: Buffer) => { output += b.toString() })
  const exit = new Promise<number | null>(resolve => child.once('exit', (code) => resolve(code)))
  return { child, output: () => output, exit }
}

describe('codio-tracker process', () => {
  it('starts from a TOML file, serves gossip-fed SelectPeers, and exits 0 on SIGTERM', async () => {
    const [httpPort, rpcPort] = [await freePort(), await freePort()]
    const file = join(dir, 'tracker.toml')
    await writeFile(file, [
      'name = "tracker-test"',
      'log_level = "info"',
      'peer_timeout = "2m"',
      '[http]', `port = ${httpPort}`,
      '[rpc]', `port = ${rpcPort}`,
      '[nats]', `servers = "${nats.url}"`,
      '[redis]', 'key_prefix = "main-test:"'
    ].join('\n'))
    // the Redis URL comes from the environment, as CODIO_ overrides do in deployments
    const proc = run(['--config', file], { CODIO_REDIS__URL: redis.url })
    try {
      const http = `http://127.0.0.1:${httpPort}`
      await until(async () => (await fetch(`${http}/readyz`).catch(() => undefined))?.status === 200, 15_000, 'readyz')
      const cid = contentId()
      const id = peerId()
      const gossip = node(nats.url, id, [cid])
      try {
        const client = new TrackerClient({ baseUrl: `http://127.0.0.1:${rpcPort}`, timeoutMs: 2000 })
        await until(async () => (await client.selectPeers(cid, 3)).length === 1, 5000, 'gossip to reach the process')
        const [peer] = await client.selectPeers(cid, 3)
        expect(peer.peerId).toBe(id)
        expect(peer.reputation).toBeCloseTo(1 / 3, 3) // a newcomer: what it claims of itself does not count
      } finally {
        await gossip.stop()
      }
      const metrics = await (await fetch(`${http}/metrics`)).text()
      expect(metrics).toMatch(/codio_tracker_gossip_applied_total\{kind="availability",role="tracker"\} [1-9]/)
      expect(proc.output()).toContain('"msg":"tracker started"')
    } finally {
      proc.child.kill('SIGTERM')
    }
    expect(await proc.exit).toBe(0)
    expect(proc.output()).toContain('"msg":"stopped"')
  })

  it('reports every bad configuration key and exits 1', async () => {
    const file = join(dir, 'bad.toml')
    await writeFile(file, 'peer_timeout = "soon"\n[rpc]\nport = 70000\n[selection]\nfavourite = 1\n')
    const proc = run(['--config', file])
    expect(await proc.exit).toBe(1)
    const out = proc.output()
    expect(out).toContain('invalid configuration')
    expect(out).toContain('peerTimeout')
    expect(out).toContain('rpc.port')
    expect(out).toContain('selection.favourite')
  })
})
