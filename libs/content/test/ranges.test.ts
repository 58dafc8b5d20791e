import { describe, it, expect } from '@jest/globals'
import { chunkSpan, chunksForRange } from '../src/ranges.js'
import { InvalidRangeError } from '../src/errors.js'

const CS = 16_384
const m = { size: 3 * CS + 10, chunkSize: CS } // chunks 0,1,2 full, chunk 3 has 10 bytes

describe('chunkSpan', () => {
  it('gives [start, end) of each chunk, the last one short', () => {
    expect(chunkSpan(m, 0)).toEqual({ start: 0, end: CS })
    expect(chunkSpan(m, 2)).toEqual({ start: 2 * CS, end: 3 * CS })
    expect(chunkSpan(m, 3)).toEqual({ start: 3 * CS, end: 3 * CS + 10 })
  })

  it('rejects indexes outside the content', () => {
    expect(() => chunkSpan(m, 4)).toThrow(InvalidRangeError)
    expect(() => chunkSpan(m, -1)).toThrow(InvalidRangeError)
    expect(() => chunkSpan(m, 1.5)).toThrow(InvalidRangeError)
    expect(() => chunkSpan({ size: 0, chunkSize: CS }, 0)).toThrow(InvalidRangeError)
  })
})

describe('chunksForRange', () => {
  it('covers single bytes at chunk edges', () => {
    expect(chunksForRange(m, 0, 0)).toEqual({ first: 0, last: 0 })
    expect(chunksForRange(m, CS - 1, CS - 1)).toEqual({ first: 0, last: 0 })
    expect(chunksForRange(m, CS, CS)).toEqual({ first: 1, last: 1 })
    expect(chunksForRange(m, m.size - 1, m.size - 1)).toEqual({ first: 3, last: 3 })
  })

  it('covers ranges spanning boundaries and the whole content', () => {
    expect(chunksForRange(m, CS - 1, CS)).toEqual({ first: 0, last: 1 })
    expect(chunksForRange(m, 0, CS - 1)).toEqual({ first: 0, last: 0 })
    expect(chunksForRange(m, 0, m.size - 1)).toEqual({ first: 0, last: 3 })
    expect(chunksForRange(m, CS + 5, 3 * CS)).toEqual({ first: 1, last: 3 })
  })

  it('rejects ranges outside the content or reversed', () => {
    expect(() => chunksForRange(m, 0, m.size)).toThrow(InvalidRangeError)
    expect(() => chunksForRange(m, 10, 9)).toThrow(InvalidRangeError)
    expect(() => chunksForRange(m, -1, 5)).toThrow(InvalidRangeError)
    expect(() => chunksForRange({ size: 0, chunkSize: CS }, 0, 0)).toThrow(InvalidRangeError)
  })
})
