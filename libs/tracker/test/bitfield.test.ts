import { describe, expect, it } from '@jest/globals'
import { bitfieldLength, bitfieldProblem, countChunks, emptyBitfield, fullBitfield, hasChunk, holdingBitfield, setChunk } from '../src/bitfield.js'

describe('BEP 3 bitfields', () => {
  it('puts chunk 0 in the high bit of byte 0', () => {
    const bits = emptyBitfield(10)
    expect(bits).toHaveLength(2)
    setChunk(bits, 0)
    setChunk(bits, 9)
    expect([...bits]).toEqual([0x80, 0x40])
    expect(hasChunk(bits, 0)).toBe(true)
    expect(hasChunk(bits, 1)).toBe(false)
    expect(hasChunk(bits, 9)).toBe(true)
    expect(hasChunk(bits, 16)).toBe(false)
    expect(countChunks(bits)).toBe(2)
    expect(() => setChunk(bits, 16)).toThrow(RangeError)
  })

  it('builds full bitfields with the spare bits zero', () => {
    expect([...fullBitfield(10)]).toEqual([0xff, 0xc0])
    expect([...fullBitfield(16)]).toEqual([0xff, 0xff])
    expect(countChunks(fullBitfield(1001))).toBe(1001)
    expect(bitfieldLength(1)).toBe(1)
    expect(bitfieldLength(8)).toBe(1)
    expect(bitfieldLength(9)).toBe(2)
  })

  it('rejects a wrong size or spare bits set', () => {
    expect(bitfieldProblem(fullBitfield(10), 10)).toBeUndefined()
    expect(bitfieldProblem(new Uint8Array(3), 10)).toMatch(/3 bytes, 2 expected/)
    expect(bitfieldProblem(Uint8Array.of(0xff, 0xe0), 10)).toMatch(/spare bits/)
  })
})

describe('holdingBitfield', () => {
  it('gives a complete holding every chunk and a partial one its own bits', () => {
    expect([...holdingBitfield({ complete: true, chunkCount: 10, bitfield: new Uint8Array(0) })]).toEqual([0xff, 0xc0])
    expect([...holdingBitfield({ complete: false, chunkCount: 10, bitfield: Uint8Array.of(0x80, 0) })]).toEqual([0x80, 0])
  })
})
