import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createServer, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { freePort } from '@codio/sidecars'
import { InvalidRequestError, TrackerTimeoutError, TrackerUnavailableError } from '../src/errors.js'
import { TrackerClient } from '../src/client.js'
import { contentId } from './helpers.js'

// A tracker that accepts connections and never answers: what a hung or overloaded tracker
// looks like from the edge.
let silent: Server
let silentUrl: string
const sockets = new Set<Socket>()

beforeAll(async () => {
  silent = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>(resolve => silent.listen(0, '127.0.0.1', resolve))
  silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`
})

afterAll(async () => {
  for (const s of sockets) s.destroy()
  await new Promise(resolve => silent.close(resolve))
})

describe('TrackerClient', () => {
  it('gives up on a tracker that does not answer after the deadline, with TrackerTimeoutError', async () => {
    const client = new TrackerClient({ baseUrl: silentUrl, timeoutMs: 200 })
    const t0 = Date.now()
    await expect(client.selectPeers(contentId(), 3)).rejects.toBeInstanceOf(TrackerTimeoutError)
    const took = Date.now() - t0
    expect(took).toBeGreaterThanOrEqual(150)
    expect(took).toBeLessThan(2000)
    expect(await client.trySelectPeers(contentId(), 3, { timeoutMs: 100 })).toBeUndefined()
  })

  it('reports an unreachable tracker as TrackerUnavailableError, and trySelectPeers as undefined', async () => {
    const client = new TrackerClient({ baseUrl: `http://127.0.0.1:${await freePort()}` })
    await expect(client.selectPeers(contentId(), 3)).rejects.toBeInstanceOf(TrackerUnavailableError)
    expect(await client.trySelectPeers(contentId(), 3)).toBeUndefined()
  })

  it('refuses bad arguments before sending anything', async () => {
    const client = new TrackerClient({ baseUrl: silentUrl })
    await expect(client.trySelectPeers('', 3)).rejects.toBeInstanceOf(InvalidRequestError)
    await expect(client.selectPeers(contentId(), 0)).rejects.toBeInstanceOf(InvalidRequestError)
  })
})
