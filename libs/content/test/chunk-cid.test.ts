import { describe, it, expect } from '@jest/globals'
import { createHash } from 'node:crypto'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { chunkCid, verifyChunk, parseChunkId } from '../src/chunk-cid.js'
import { manifestCid, parseContentId } from '../src/content-id.js'
import { InvalidCidError } from '../src/errors.js'
import { base58btc } from 'multiformats/bases/base58'

const hello = new TextEncoder().encode('hello')

describe('chunkCid / verifyChunk', () => {
  it('is CIDv1 raw sha2-256, the same CID as other IPFS tools give', () => {
    const cid = chunkCid(hello)
    expect(cid.version).toBe(1)
    expect(cid.code).toBe(0x55)
    expect(cid.multihash.code).toBe(0x12)
    // sha2-256("hello") as a raw CIDv1, as `ipfs add --raw-leaves --cid-version 1` prints it
    expect(cid.toString()).toBe('bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq')
  })

  it('verifies the right bytes and rejects wrong bytes', () => {
    const cid = chunkCid(hello)
    expect(verifyChunk(cid, hello)).toBe(true)
    expect(verifyChunk(cid, new TextEncoder().encode('hellp'))).toBe(false)
    expect(verifyChunk(cid, new Uint8Array(0))).toBe(false)
  })

  it('rejects a CID with the right digest but the wrong codec', () => {
    const digest = Digest.create(0x12, createHash('sha256').update(hello).digest())
    expect(verifyChunk(CID.createV1(0x71, digest), hello)).toBe(false)
    expect(verifyChunk(CID.createV0(digest), hello)).toBe(false)
  })
})

describe('parseChunkId / parseContentId', () => {
  it('parses chunk ids from base32, base58btc and bytes', () => {
    const cid = chunkCid(hello)
    expect(parseChunkId(cid.toString()).equals(cid)).toBe(true)
    expect(parseChunkId(cid.toString(base58btc)).equals(cid)).toBe(true)
    expect(parseChunkId(cid.bytes).equals(cid)).toBe(true)
  })

  it('rejects garbage, content ids as chunk ids and chunk ids as content ids', () => {
    const chunk = chunkCid(hello)
    const content = manifestCid(hello)
    expect(parseContentId(content.toString()).equals(content)).toBe(true)
    expect(() => parseChunkId('not-a-cid')).toThrow(InvalidCidError)
    expect(() => parseChunkId(content.toString())).toThrow(/codec raw/)
    expect(() => parseContentId(chunk.toString())).toThrow(InvalidCidError)
    expect(() => parseChunkId(new Uint8Array([1, 2, 3]))).toThrow(InvalidCidError)
    const v0 = CID.createV0(Digest.create(0x12, createHash('sha256').update(hello).digest()))
    expect(() => parseChunkId(v0.toString())).toThrow(/CIDv1/)
  })

  it('error names equal the class name', () => {
    expect(new InvalidCidError('x').name).toBe('InvalidCidError')
  })
})
