/**
 * The fault campaign (issue 19, "Faults") on a real local cluster (`codio cluster`: real
 * processes, the tracker over real NATS and Redis). Each fault strikes with a download or an
 * ingest in progress, and each is checked for: every completed response byte-exact (SHA-256),
 * nothing partial visible (a failed download fails visibly, never with a wrong byte; a failed
 * ingest leaves no content anywhere), the failure visible in the nodes' metrics, and recovery
 * without an operator. The cases run in one cluster, in order: a killed provider, a relay
 * killed and restarted, the tracker / NATS / Redis stopped, an edge whose disk is full, and last
 * the origin killed mid-ingest (the cluster cannot start it again).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmdirSync } from 'node:fs'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createAdminClient } from '@codio/admin'
import type { ClusterProcess } from '../src/endpoints.js'
import { BIN } from './helpers.js'
import { alive, metric, restartNode, startLocalCluster, until, type LocalCluster } from './local-cluster.js'

const MiB = 1024 * 1024
/** The providers' upload limit during a fault, so that a download is still running when it strikes. */
const SLOW = '3MB'

/** Whether this process may mount a tmpfs (root, or a container that allows it): the disk-full case needs one. */
function canMount (): string | undefined {
  const probe = mkdtempSync(join(tmpdir(), 'codio-mount-probe-'))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { stdio: 'pipe' })
    execFileSync('umount', [probe], { stdio: 'pipe' })
    return undefined
  } catch (err) {
    return ((err as { stderr?: Buffer }).stderr?.toString() ?? (err as Error).message).trim()
  } finally {
    rmdirSync(probe)
  }
}
const mountRefused = canMount()
if (mountRefused != null) console.warn(`SKIPPED: the disk-full (ENOSPC) case needs a tmpfs mount, refused here: ${mountRefused}`)

interface Download { code: number | null, body: Buffer, stderr: string }

/** `curl` a URL to memory (no -f: a failure shows as a non-zero exit or a short body). */
function download (url: string): { done: Promise<Download>, child: ChildProcess } {
  const child = spawn('curl', ['-sS', '--max-time', '60', url], { stdio: ['ignore', 'pipe', 'pipe'] })
  const out: Buffer[] = []
  let stderr = ''
  child.stdout!.on('data', (b: Buffer) => out.push(b))
  child.stderr!.on('data', (b: Buffer) => { stderr += b.toString() })
  const done = new Promise<Download>(resolve => child.once('close', code => resolve({ code, body: Buffer.concat(out), stderr })))
  return { done, child }
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

describe('faults with a download or an ingest in progress, on a local cluster', () => {
  let cluster: LocalCluster
  let stateDir: string
  let mounted: string | undefined
  const restarted: ChildProcess[] = []
  const node = (name: string): ClusterProcess => cluster.byName(name)
  const admin = (name: string): ReturnType<typeof createAdminClient> => createAdminClient(node(name).admin)

  /** Publish `size` random bytes; the content ID and the bytes. */
  const publish = async (name: string, size: number): Promise<{ cid: string, data: Buffer }> => {
    const data = randomBytes(size)
    const path = join(cluster.dir, name)
    await writeFile(path, data)
    const t0 = Date.now()
    const cid = await cluster.publish(path)
    if (Date.now() - t0 > 2000) console.log(`publish of ${name} (${size} bytes) took ${Date.now() - t0} ms`)
    return { cid, data }
  }
  const throttle = async (names: string[], rate: string | undefined): Promise<void> => {
    for (const n of names) {
      await admin(n).updateConfig(rate == null ? { updateMask: ['swarm.maxUploadRate'] } : { config: { swarm: { maxUploadRate: rate } }, updateMask: ['swarm.maxUploadRate'] })
    }
  }
  const kill9 = (name: string): void => {
    process.kill(node(name).pid, 'SIGKILL')
  }
  const expectExact = (got: Download, data: Buffer, what: string): void => {
    if (got.code !== 0 || got.body.length !== data.length) throw new Error(`${what}: curl exit ${got.code}, ${got.body.length}/${data.length} bytes: ${got.stderr}`)
    expect(sha(got.body)).toBe(sha(data))
  }
  const lookups = async (name: string, result: string): Promise<number> => await metric(node(name).http, 'codio_edge_tracker_lookups_total', { result })

  /** Unmount edge-2's tmpfs (lazily if still busy). */
  const unmount = async (): Promise<void> => {
    if (mounted == null) return
    const dir = mounted
    mounted = undefined
    await new Promise<void>(resolve => execFile('umount', [dir], err => err == null ? resolve() : execFile('umount', ['-l', dir], () => resolve())))
  }

  const start = async (seen: (dir: string) => void): Promise<LocalCluster> => await startLocalCluster({
    prefix: 'codio-faults-',
    args: () => ['--edges', '4', '--relays', '2', '--no-sample'],
    ready: 'Ctrl-C (or SIGTERM) stops every process.',
    what: 'the cluster to be up',
    prepare: async (dir) => {
      seen(dir)
      // edge-2's data directory on an 8 MiB tmpfs: its disk fills up in the ENOSPC case
      const edge2 = join(dir, '.codio', 'edge-2')
      await mkdir(edge2, { recursive: true })
      if (mountRefused == null) {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', edge2])
        mounted = edge2
      }
    }
  })

  beforeAll(async () => {
    let dir: string | undefined
    try {
      cluster = await start(d => { dir = d })
    } catch (err) {
      // the helper's cleanup cannot remove a mount point: unmount, then remove what is left
      await unmount()
      if (dir != null) await rm(dir, { recursive: true, force: true })
      throw err
    }
    stateDir = join(cluster.dir, '.codio')
    if (cluster.file.tracker?.natsPid == null || cluster.file.tracker.redisPid == null) throw new Error(`the cluster runs no tracker with NATS and Redis:\n${cluster.output()}`)
  }, 120_000)

  afterAll(async () => {
    // nothing stays stopped, or the cluster's SIGTERM waits on it
    const t = cluster?.file.tracker
    for (const pid of [t?.pid, t?.natsPid, t?.redisPid]) if (pid != null && alive(pid)) process.kill(pid, 'SIGCONT')
    for (const c of restarted) {
      if (c.exitCode == null && c.signalCode == null) {
        const exited = new Promise(resolve => c.once('exit', resolve))
        c.kill('SIGTERM')
        await exited
      }
    }
    await cluster?.terminate()
    await unmount()
    await cluster?.stop()
  }, 60_000)

  it('a third of the providers killed (-9) mid-download: the download completes byte-exact from the rest', async () => {
    const { cid, data } = await publish('providers.bin', 12 * MiB)
    // providers: the origin, edge-3 and edge-4; edge-3 (one in three) dies
    for (const e of ['edge-3', 'edge-4']) expect(Number((await admin(e).prefetch({ contentId: cid })).size)).toBe(data.length)
    await throttle(['origin-1', 'edge-3', 'edge-4', 'relay-1', 'relay-2'], SLOW)
    const served3 = await metric(node('edge-3').http, 'codio_edge_served_bytes_total')
    const { done, child } = download(`${node('edge-1').http}/content/${cid}`)
    // mid-download: edge-3 has served a chunk and edge-1 has verified one
    await until(async () => await metric(node('edge-3').http, 'codio_edge_served_bytes_total') - served3 >= MiB &&
      await metric(node('edge-1').http, 'codio_edge_received_bytes_total') > 0, 15_000, 'edge-3 to serve part of the download')
    const receivedAtKill = await metric(node('edge-1').http, 'codio_edge_received_bytes_total')
    const survivors = async (): Promise<number> => await metric(node('origin-1').http, 'codio_origin_served_bytes_total') + await metric(node('edge-4').http, 'codio_edge_served_bytes_total')
    const servedBySurvivors = await survivors()
    kill9('edge-3')
    const killedAt = Date.now()
    expect(child.exitCode).toBeNull()
    expect(receivedAtKill).toBeLessThan(data.length)
    expectExact(await done, data, 'download through edge-1')
    expect(alive(node('edge-3').pid)).toBe(false)
    console.log(`fault 1: download done ${Date.now() - killedAt} ms after the kill`)
    // recovery: the same content again (a hit) and a new one (from the swarm without edge-3)
    await throttle(['origin-1', 'edge-4', 'relay-1', 'relay-2'], undefined)
    expectExact(await download(`${node('edge-1').http}/content/${cid}`).done, data, 'second download')
    const fresh = await publish('after-kill.bin', 2 * MiB)
    expectExact(await download(`${node('edge-4').http}/content/${fresh.cid}`).done, fresh.data, 'download after the kill')
    // visible: the rest of the download came from the surviving providers (no node counts the
    // lost provider itself: connected_peers does not drop within 45 s, as the QUIC connection lingers)
    const shifted = await survivors() - servedBySurvivors
    expect(shifted).toBeGreaterThan(0)
    console.log(`fault 1: edge-3 killed after edge-1 had ${receivedAtKill} of ${data.length} bytes; the origin and edge-4 served ${shifted} bytes after; download byte-exact`)
  }, 60_000)

  it('a relay killed (-9) mid-download and started again: the download completes byte-exact and the relay rejoins', async () => {
    const t0 = Date.now()
    const { cid, data } = await publish('relay.bin', 8 * MiB)
    expect(Number((await admin('edge-4').prefetch({ contentId: cid })).size)).toBe(data.length)
    await throttle(['origin-1', 'edge-4'], SLOW)
    const relay = node('relay-2')
    const peersBefore = await metric(node('edge-1').http, 'codio_edge_connected_peers')
    const before = await metric(node('edge-1').http, 'codio_edge_received_bytes_total')
    const { done, child } = download(`${node('edge-1').http}/content/${cid}`)
    await until(async () => await metric(node('edge-1').http, 'codio_edge_received_bytes_total') > before, 15_000, 'the download to start')
    kill9('relay-2')
    const killedAt = Date.now()
    expect(child.exitCode).toBeNull()
    await until(() => !alive(relay.pid), 5_000, 'relay-2 to die')
    await until(async () => await metric(node('edge-1').http, 'codio_edge_connected_peers') < peersBefore, 10_000, 'edge-1 to count one connection fewer')
    console.log(`fault 2: edge-1 counts fewer connections ${Date.now() - killedAt} ms after the kill`)
    restarted.push(await restartNode(relay, stateDir))
    console.log(`fault 2: relay-2 ready again ${Date.now() - killedAt} ms after the kill`)
    expectExact(await done, data, 'download through edge-1')
    await throttle(['origin-1', 'edge-4'], undefined)
    // recovery: the same peer ID at the same addresses, back in the swarm and the DHT
    await until(async () => await metric(relay.http, 'codio_relay_connected_peers') >= 3, 20_000, 'the restarted relay to be connected again')
    await until(async () => await metric(relay.http, 'codio_relay_dht_routing_table_peers') >= 1, 20_000, 'the restarted relay to rejoin the DHT')
    console.log(`fault 2: relay-2 rejoined ${Date.now() - killedAt} ms after the kill (test ${Date.now() - t0} ms)`)
    const fresh = await publish('after-relay.bin', 2 * MiB)
    expectExact(await download(`${node('edge-4').http}/content/${fresh.cid}`).done, fresh.data, 'download after the restart')
    console.log(`fault 2: relay-2 killed mid-download and back in ${Date.now() - killedAt} ms; download byte-exact`)
  }, 90_000)

  it('the tracker, then NATS and Redis, stopped for a while: downloads go on through the DHT, lookups count as unavailable, and the tracker answers once they are back', async () => {
    const t = cluster.file.tracker!
    const phases: Array<{ what: string, pids: number[], edge: string }> = [
      { what: 'the tracker', pids: [t.pid], edge: 'edge-1' },
      { what: 'NATS and Redis', pids: [t.natsPid!, t.redisPid!], edge: 'edge-4' }
    ]
    for (const phase of phases) {
      const t0 = Date.now()
      const { cid, data } = await publish(`down-${phase.edge}.bin`, 4 * MiB)
      const tp = Date.now()
      const unavailable = await lookups(phase.edge, 'unavailable')
      const errors = await lookups(phase.edge, 'error')
      const { done } = download(`${node(phase.edge).http}/content/${cid}`)
      for (const pid of phase.pids) process.kill(pid, 'SIGSTOP')
      let got: Download
      try {
        got = await done
      } finally {
        for (const pid of phase.pids) process.kill(pid, 'SIGCONT')
      }
      expectExact(got, data, `download with ${phase.what} down`)
      console.log(`fault 4: ${phase.what}: published at ${tp - t0} ms, downloaded at ${Date.now() - t0} ms`)
      const u = await lookups(phase.edge, 'unavailable') - unavailable
      const e = await lookups(phase.edge, 'error') - errors
      console.log(`fault 4: ${phase.what} stopped: ${phase.edge} counted ${u} lookups unavailable, ${e} error (${Date.now() - t0} ms)`)
      expect(u).toBeGreaterThanOrEqual(1)
      // recovery: the tracker answers lookups again (peers or empty, not unavailable)
      const answered = async (): Promise<number> => await lookups(phase.edge, 'peers') + await lookups(phase.edge, 'empty')
      await until(async () => {
        const a0 = await answered()
        const probe = await publish(`back-${phase.edge}-${Date.now()}.bin`, 256 * 1024)
        expectExact(await download(`${node(phase.edge).http}/content/${probe.cid}`).done, probe.data, 'download after the outage')
        return await answered() > a0
      }, 40_000, `the tracker to answer ${phase.edge} again after ${phase.what} came back`, 500)
      console.log(`fault 4: the tracker answers ${phase.edge} again (${Date.now() - t0} ms)`)
    }
  }, 120_000)

  ;(mountRefused == null ? it : it.skip)('an edge whose disk fills up mid-download (ENOSPC): the client gets every byte right or a visible error, and the edge keeps serving', async () => {
    const big = await publish('enospc.bin', 16 * MiB)
    const http = node('edge-2').http
    const got = await download(`${http}/content/${big.cid}`).done
    // never a wrong byte: a complete body is exact, a short one is a prefix and visibly failed
    if (got.code === 0 && got.body.length === big.data.length) {
      expect(sha(got.body)).toBe(sha(big.data))
    } else {
      expect(got.body.length).toBeLessThan(big.data.length)
      expect(got.body.equals(big.data.subarray(0, got.body.length))).toBe(true)
      expect(got.code !== 0 || got.body.length < big.data.length).toBe(true)
    }
    const fs = execFileSync('df', ['-k', mounted!]).toString().trim().split('\n').pop()
    console.log(`fault 5: 16 MiB through edge-2 on an 8 MiB disk: curl exit ${got.code}, ${got.body.length} bytes; ${got.stderr.trim()}; df: ${fs}`)
    expect(alive(node('edge-2').pid)).toBe(true)
    // nothing partial held as content
    expect((await admin('edge-2').listContent({})).contentIds).not.toContain(big.cid)
    // visible: the cut response is counted by its cause, and the log names the disk, not the peers
    if (got.body.length < big.data.length) {
      expect(await metric(http, 'codio_edge_http_responses_broken_total', { reason: 'StoreIOError' })).toBeGreaterThanOrEqual(1)
      const logged = readFileSync(join(stateDir, 'logs', 'edge-2.log'), 'utf8').split('\n').filter(l => /ENOSPC/.test(l))
      expect(logged.length).toBeGreaterThan(0)
    }
    // the edge still serves other content
    const small = await publish('after-enospc.bin', 512 * 1024)
    expectExact(await download(`${http}/content/${small.cid}`).done, small.data, 'download through edge-2 after ENOSPC')
    expect((await fetch(`${http}/readyz`)).ok).toBe(true)
  }, 90_000)

  it('the origin killed (-9) mid-ingest: the publish fails visibly, prints no content ID, and no node holds anything new', async () => {
    const live = ['edge-1', 'edge-4', 'relay-1', 'relay-2'].filter(n => n !== 'relay-2' || restarted.length > 0)
    const heldBefore = new Map<string, string[]>()
    for (const n of live) heldBefore.set(n, (await admin(n).listContent({})).contentIds.sort())
    const path = join(cluster.dir, 'ingest.bin')
    const size = 96 * MiB
    await writeFile(path, randomBytes(size))
    const origin = node('origin-1')
    const rchar = (): number => Number(/rchar: (\d+)/.exec(readFileSync(`/proc/${origin.pid}/io`, 'utf8'))?.[1] ?? 0)
    const read0 = rchar()
    const child = spawn(process.execPath, [BIN, 'publish', path, '--quiet'], { cwd: cluster.dir, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout!.on('data', (b: Buffer) => { stdout += b.toString() })
    child.stderr!.on('data', (b: Buffer) => { stderr += b.toString() })
    const exited = new Promise<number | null>(resolve => child.once('close', code => resolve(code)))
    // mid-ingest: the origin has read some of the upload, not all of it
    await until(() => rchar() - read0 > 8 * MiB || child.exitCode != null, 30_000, 'the origin to read part of the upload', 20)
    const readAtKill = rchar() - read0
    kill9('origin-1')
    const code = await exited
    console.log(`fault 3: origin killed after reading ${readAtKill} bytes of a ${size}-byte upload; publish exit ${code}: ${stderr.trim()}`)
    expect(readAtKill).toBeLessThan(size)
    expect(code).not.toBe(0)
    expect(stdout.trim()).toBe('')
    expect(stderr).not.toBe('')
    await until(() => cluster.output().includes('origin-1 exited unexpectedly (SIGKILL)'), 5_000, 'the cluster to report the dead origin')
    // nothing partial anywhere: no node holds a new content
    for (const n of live) expect((await admin(n).listContent({})).contentIds.sort()).toEqual(heldBefore.get(n))
    // recovery without the origin: the edges still serve what they hold
    const held = heldBefore.get('edge-4')!
    expect(held.length).toBeGreaterThan(0)
    const res = await fetch(`${node('edge-4').http}/content/${held[0]}`)
    expect(res.status).toBe(200)
    expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(0)
  }, 60_000)
})
