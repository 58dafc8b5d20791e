/**
 * exchangeFetcher: each error class of ChunkExchange.fetch becomes the typed failure a download
 * acts on (a refusal by its code), with the error kept; a cancelled request is `aborted`.
 */
import { describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { chunkCid } from '@codio/content'
import { BlockRefusedError, BlockVerificationError, PeerDeniedError, ProtocolError, RequestTimeoutError } from '@codio/exchange'
import { RefusalCode } from '@codio/proto'
import type { FetchFailure } from '../src/index.js'
import { exchangeFetcher } from '../src/exchange-fetcher.js'

describe('exchangeFetcher', () => {
  const bytes = randomBytes(64)
  const cid = chunkCid(bytes)

  it('hands over the verified bytes', async () => {
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const fetcher = exchangeFetcher({ fetch: async () => bytes })
    expect(await fetcher.fetch(peer, cid)).toEqual({ ok: true, block: bytes })
  })

  it('types each failure of the exchange, keeping the error', async () => {
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const cases: Array<[Error, FetchFailure]> = [
      [new BlockRefusedError('choked', RefusalCode.CHOKED), 'choked'],
      [new BlockRefusedError('not found', RefusalCode.NOT_FOUND), 'refused'],
      [new BlockRefusedError('overloaded', RefusalCode.OVERLOADED), 'refused'],
      [new BlockVerificationError('bad bytes'), 'verification'],
      [new RequestTimeoutError('late'), 'timeout'],
      [new PeerDeniedError('refused here'), 'denied'],
      [new ProtocolError('stream ended'), 'protocol'],
      [Object.assign(new Error('connection reset'), { name: 'BlockRefusedError' }), 'unreachable']
    ]
    for (const [error, failure] of cases) {
      const fetcher = exchangeFetcher({ fetch: async () => { throw error } })
      expect({ message: error.message, result: await fetcher.fetch(peer, cid) }).toEqual({ message: error.message, result: { ok: false, failure, error } })
    }
  })

  it('a request whose signal fired is aborted, whatever the exchange threw', async () => {
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const cancel = new AbortController()
    cancel.abort()
    const fetcher = exchangeFetcher({ fetch: async () => { throw new RequestTimeoutError('late') } })
    expect(await fetcher.fetch(peer, cid, { signal: cancel.signal })).toMatchObject({ ok: false, failure: 'aborted' })
  })
})
