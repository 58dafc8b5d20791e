import { describe, expect, it } from '@jest/globals'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { findBinary, freePort, probe, SidecarRestartError, SidecarUnavailableError, startNats, startRedis } from '../src/index.js'

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const portOf = (url: string): number => Number(new URL(url).port)

describe('freePort', () => {
  it('hands out distinct bindable ports below the ephemeral range, which outgoing connections use', async () => {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
    const ports = await Promise.all(Array.from({ length: 50 }, async () => await freePort()))
    expect(new Set(ports).size).toBe(50)
    for (const p of ports) expect(p).toBeLessThan(low)
    const server = createServer()
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(ports[0], '127.0.0.1', resolve) })
    await new Promise<void>(resolve => server.close(() => resolve()))
  })
})

describe('findBinary', () => {
  it('finds nats-server outside PATH (Debian puts it in /usr/sbin) and nothing for an unknown name', () => {
    expect(findBinary('nats-server', { env: { PATH: '' } })).toMatch(/\/nats-server$/)
    expect(findBinary('redis-server')).toMatch(/\/redis-server$/)
    expect(findBinary('no-such-binary-codio')).toBeUndefined()
    expect(findBinary('nats-server', { env: { PATH: '' }, dirs: [] })).toBeUndefined()
  })
})

describe('startNats / startRedis (local binaries)', () => {
  it('starts NATS on a free port, restarts it on the same port, and kills it on stop', async () => {
    const nats = await startNats({ env: { PATH: process.env.PATH }, containers: false })
    expect(nats.source).toBe('binary')
    const port = portOf(nats.url)
    const pid = nats.pid as number
    expect(await probe('127.0.0.1', port, 'INFO ')).toBe(true)

    await nats.restart()
    expect(portOf(nats.url)).toBe(port)
    expect(nats.pid).not.toBe(pid)
    expect(alive(pid)).toBe(false)
    expect(await probe('127.0.0.1', port, 'INFO ')).toBe(true)

    const second = nats.pid as number
    await nats.stop()
    expect(alive(second)).toBe(false)
    expect(await probe('127.0.0.1', port, 'INFO ')).toBe(false)
    await nats.stop() // idempotent
  })

  it('starts Redis without persistence in a temporary directory it removes on stop', async () => {
    const redis = await startRedis({ env: { PATH: process.env.PATH }, containers: false })
    const port = portOf(redis.url)
    expect(redis.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/)
    expect(await probe('127.0.0.1', port, '+PONG', 'PING\r\n')).toBe(true)
    const pid = redis.pid as number
    const dir = redis.dir as string
    expect((await stat(dir)).isDirectory()).toBe(true)
    await redis.stop()
    expect(alive(pid)).toBe(false)
    await expect(stat(dir)).rejects.toThrow(/ENOENT/)
    expect(await probe('127.0.0.1', port, '+PONG', 'PING\r\n')).toBe(false)
  })

  it('keeps a given directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'codio-sidecar-test-'))
    try {
      const nats = await startNats({ env: { PATH: process.env.PATH }, containers: false, dir, jetstream: true })
      expect(nats.dir).toBe(dir)
      await nats.stop()
      expect((await stat(join(dir, 'jetstream'))).isDirectory()).toBe(true)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('uses NATS_URL / REDIS_URL when set, and never stops or restarts what it did not start', async () => {
    const real = await startRedis({ env: { PATH: process.env.PATH }, containers: false })
    try {
      const given = await startRedis({ env: { REDIS_URL: real.url } })
      expect(given.source).toBe('env')
      expect(given.url).toBe(real.url)
      await expect(given.restart()).rejects.toBeInstanceOf(SidecarRestartError)
      await given.stop()
      expect(await probe('127.0.0.1', portOf(real.url), '+PONG', 'PING\r\n')).toBe(true)
      const nats = await startNats({ env: { NATS_URL: 'nats://10.1.2.3:4222' } })
      expect(nats.url).toBe('nats://10.1.2.3:4222')
    } finally {
      await real.stop()
    }
  })

  it('says which Debian package to install when no server can be found', async () => {
    const err = await startNats({ env: { PATH: '' }, searchDirs: [], containers: false }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SidecarUnavailableError)
    expect((err as Error).name).toBe('SidecarUnavailableError')
    expect((err as Error).message).toContain('apt-get install -y nats-server redis-server')
    expect((err as Error).message).toContain('NATS_URL')
    const redisErr = await startRedis({ env: {}, searchDirs: ['/nonexistent'], containers: false }).catch((e: unknown) => e)
    expect(redisErr).toBeInstanceOf(SidecarUnavailableError)
    expect((redisErr as Error).message).toContain('redis-server')
  })
})
