/**
 * `[swarm] maxUploadRate` and `maxDownloadRate` limit real transfers between real peers on
 * loopback TCP (token buckets, libs/bandwidth: a 256 KiB burst, then the rate). Each transfer
 * is 1 MiB at 256 KiB/s, so it cannot take less than (1 MiB − 256 KiB) / 256 KiB = 3 s; the
 * same transfer unlimited takes a fraction of that (0.56 s on a machine at load 20), which the
 * last case checks so that the floors are the limits' doing. The limited cases assert lower
 * bounds only: a slow machine makes a transfer slower, never faster.
 */
import { afterAll, describe, expect, it } from '@jest/globals'
import { performance } from 'node:perf_hooks'
import { until } from '@codio/testing'
import type { CodioPeer } from '../src/peer.js'
import { addrOf, CHUNK, makeContent, Peers, publish, randomChunks } from './content.js'

const CHUNKS = 64 // × 16 KiB = 1 MiB
const RATE = 256 * 1024
const FLOOR_S = (CHUNKS * CHUNK - 256 * 1024) / RATE

describe('rate limits on real transfers', () => {
  const peers = new Peers()

  afterAll(async () => {
    await peers.close()
  })

  /** Seconds `to` takes to fetch a fresh 1 MiB content that only `from` holds. */
  async function fetchTime (from: CodioPeer, to: CodioPeer): Promise<number> {
    const content = await makeContent(await peers.kp, randomChunks(CHUNKS))
    await publish(from, content)
    const t0 = performance.now()
    const dl = to.download(await to.resolve(content.contentId))
    await dl.done
    return (performance.now() - t0) / 1000
  }

  async function pair (tag: string, origin: object, edge: object): Promise<[CodioPeer, CodioPeer]> {
    const o = await peers.start(`${tag}-origin`, { role: 'origin', swarm: origin })
    const e = await peers.start(`${tag}-edge`, { bootstrap: [addrOf(o)], swarm: edge })
    await until(() => e.isReady(), 15_000, 'the edge to join the DHT')
    return [o, e]
  }

  it(`maxUploadRate ${RATE / 1024} KiB/s at the sender: 1 MiB takes at least ${FLOOR_S} s`, async () => {
    const [o, e] = await pair('up', { maxUploadRate: RATE }, {})
    const s = await fetchTime(o, e)
    console.log(`1 MiB from a sender limited to 256 KiB/s: ${s.toFixed(2)} s`)
    expect(s).toBeGreaterThanOrEqual(FLOOR_S * 0.95)
  }, 60_000)

  it(`maxDownloadRate ${RATE / 1024} KiB/s at the receiver: 1 MiB takes at least ${FLOOR_S} s`, async () => {
    const [o, e] = await pair('down', {}, { maxDownloadRate: RATE })
    const s = await fetchTime(o, e)
    console.log(`1 MiB to a receiver limited to 256 KiB/s: ${s.toFixed(2)} s`)
    expect(s).toBeGreaterThanOrEqual(FLOOR_S * 0.95)
  }, 60_000)

  it('unlimited, the same transfer is not held to that floor', async () => {
    const [o, e] = await pair('free', {}, {})
    const s = await fetchTime(o, e)
    console.log(`1 MiB unlimited: ${s.toFixed(2)} s`)
    expect(s).toBeLessThan(FLOOR_S)
  }, 60_000)
})
