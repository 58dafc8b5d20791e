import { describe, it, expect } from '@jest/globals'
import { chunkStream } from '../src/chunk-stream.js'
import { DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE } from '../src/constants.js'
import { InvalidChunkSizeError } from '../src/errors.js'
import { bytesOf, collect, piecesOf } from './helpers.js'

const CS = MIN_CHUNK_SIZE

function concat (parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts))
}

describe('chunkStream', () => {
  it('empty input yields no chunks', async () => {
    expect(await collect(chunkStream(piecesOf(new Uint8Array(0), [1]), CS))).toEqual([])
    expect(await collect(chunkStream((async function * () { yield new Uint8Array(0) })(), CS))).toEqual([])
  })

  it('one byte yields one 1-byte chunk', async () => {
    const chunks = await collect(chunkStream(piecesOf(Uint8Array.of(7), [1]), CS))
    expect(chunks).toEqual([Uint8Array.of(7)])
  })

  it('exactly one chunk of input yields one full chunk', async () => {
    const data = bytesOf(CS)
    const chunks = await collect(chunkStream(piecesOf(data, [CS]), CS))
    expect(chunks.map(c => c.length)).toEqual([CS])
    expect(chunks[0]).toEqual(data)
  })

  it('one chunk plus one byte yields a full chunk and a 1-byte chunk', async () => {
    const data = bytesOf(CS + 1)
    const chunks = await collect(chunkStream(piecesOf(data, [CS + 1]), CS))
    expect(chunks.map(c => c.length)).toEqual([CS, 1])
    expect(concat(chunks)).toEqual(data)
  })

  it('input in odd-sized pieces gives the same exact-size chunks', async () => {
    const data = bytesOf(3 * CS + 1234)
    for (const sizes of [[1], [7, 4099, 1], [CS - 1], [CS + 1], [5 * CS]]) {
      const chunks = await collect(chunkStream(piecesOf(data, sizes), CS))
      expect(chunks.map(c => c.length)).toEqual([CS, CS, CS, 1234])
      expect(concat(chunks)).toEqual(data)
    }
  })

  it('yielded chunks do not alias a source buffer the caller reuses', async () => {
    const reused = new Uint8Array(CS)
    async function * source (): AsyncGenerator<Uint8Array> {
      for (let i = 1; i <= 3; i++) {
        reused.fill(i)
        yield reused
      }
    }
    const chunks = await collect(chunkStream(source(), CS))
    expect(chunks.map(c => c[0])).toEqual([1, 2, 3])
    expect(chunks.map(c => c.every(b => b === c[0]))).toEqual([true, true, true])
    expect(chunks[2].buffer).not.toBe(reused.buffer)
  })

  it('the last chunk owns a buffer of exactly its length', async () => {
    const chunks = await collect(chunkStream(piecesOf(bytesOf(CS + 10), [CS + 10]), CS))
    expect(chunks[1].buffer.byteLength).toBe(10)
  })

  it('uses 1 MiB by default', async () => {
    const chunks = await collect(chunkStream(piecesOf(bytesOf(DEFAULT_CHUNK_SIZE + 5), [65536])))
    expect(chunks.map(c => c.length)).toEqual([DEFAULT_CHUNK_SIZE, 5])
  })

  it('rejects chunk sizes outside [MIN, MAX] when called', () => {
    for (const bad of [0, MIN_CHUNK_SIZE - 1, MAX_CHUNK_SIZE + 1, 20_000.5, Number.NaN]) {
      expect(() => chunkStream(piecesOf(new Uint8Array(0), [1]), bad)).toThrow(InvalidChunkSizeError)
    }
    expect(() => chunkStream(piecesOf(new Uint8Array(0), [1]), MAX_CHUNK_SIZE)).not.toThrow()
  })
})
