import { afterAll, describe, expect, it } from '@jest/globals'
import { TrustedKeys } from '@codio/signing'
import { makeContent, Peers, publish, randomChunks } from './content.js'

// CodioPeer.reconfigure on a started peer: what applies at once, and bad values changing nothing.

describe('CodioPeer.reconfigure', () => {
  const peers = new Peers()
  afterAll(async () => { await peers.close() })

  it('re-rates the token buckets, resizes the choker and sets fetch limits at once', async () => {
    const p = await peers.start('live')
    expect(p.swarm.download.rate).toBe(Infinity)
    p.reconfigure({
      swarm: { maxDownloadRate: 2_000_000, maxUploadRate: 1_000_000, regularUnchokeSlots: 7, optimisticUnchokeSlots: 2, unchokeInterval: 2000, optimisticUnchokeInterval: 6000 },
      lookupTimeoutMs: 1234,
      requestTimeoutMs: 4321,
      perPeerInFlight: 'adaptive',
      maxInFlight: 9,
      strategy: 'sequential',
      streamingWindow: 3,
      gossipIntervalMs: 5000
    })
    expect(p.swarm.download.rate).toBe(2_000_000)
    expect(p.swarm.upload.rate).toBe(1_000_000)
    expect(p.swarm.uploadQueue.bucket.rate).toBe(1_000_000)
    expect([p.swarm.choker.regularSlots, p.swarm.choker.optimisticSlots, p.swarm.choker.unchokeIntervalMs, p.swarm.choker.optimisticIntervalMs]).toEqual([7, 2, 2000, 6000])
    expect(p.swarm.policy).toMatchObject({ maxDownloadRate: 2_000_000, regularUnchokeSlots: 7, unchokeInterval: 2000 })
    expect(p.init).toMatchObject({ lookupTimeoutMs: 1234, requestTimeoutMs: 4321, perPeerInFlight: 'adaptive', maxInFlight: 9, strategy: 'sequential', streamingWindow: 3 })
    expect(p.init.tracker?.gossipIntervalMs).toBe(5000)
    // 0 = unlimited again
    p.reconfigure({ swarm: { maxDownloadRate: 0 } })
    expect(p.swarm.download.rate).toBe(Infinity)
  })

  it('refuses a bad value with a RangeError and changes nothing', async () => {
    const p = await peers.start('strict')
    const before = { rate: p.swarm.download.rate, slots: p.swarm.choker.regularSlots, lookup: p.init.lookupTimeoutMs }
    expect(() => p.reconfigure({ swarm: { maxDownloadRate: 5000, regularUnchokeSlots: -1 } })).toThrow(RangeError)
    expect(() => p.reconfigure({ swarm: { maxDownloadRate: -5 } })).toThrow(RangeError)
    expect(() => p.reconfigure({ lookupTimeoutMs: 10, maxInFlight: 0 })).toThrow(RangeError)
    expect(() => p.reconfigure({ lookupTimeoutMs: 10, strategy: 'fastest' as any })).toThrow(RangeError)
    expect({ rate: p.swarm.download.rate, slots: p.swarm.choker.regularSlots, lookup: p.init.lookupTimeoutMs }).toEqual(before)
  })

  it('checks manifests against the new publisher keys from the next resolve on', async () => {
    const p = await peers.start('trust')
    const kp = await peers.kp
    const content = await makeContent(kp, randomChunks(3))
    await publish(p, content)
    expect((await p.resolve(content.contentId)).local).toBe(true)
    const keys = new TrustedKeys([kp.publicKey])
    keys.revoke(kp.publicKey)
    p.reconfigure({ trustedKeys: keys })
    await expect(p.resolve(content.contentId)).rejects.toMatchObject({ name: 'UntrustedPublisherError' })
    p.reconfigure({ trustedKeys: new TrustedKeys([kp.publicKey]) })
    expect((await p.resolve(content.contentId)).local).toBe(true)
  })
})
