import { describe, expect, it } from '@jest/globals'
import { Bitfield } from '../src/bitfield.js'
import { seeded } from '@codio/testing'

describe('Bitfield', () => {
  it('lays bits out as BEP 3 does: piece i is bit 7 − i % 8 of byte i >> 3, spare bits zero', () => {
    const bf = new Bitfield(10)
    for (const i of [0, 7, 8, 9]) bf.set(i)
    expect([...bf.toBytes()]).toEqual([0b1000_0001, 0b1100_0000])
    expect(bf.has(0)).toBe(true)
    expect(bf.has(1)).toBe(false)
    expect(bf.has(9)).toBe(true)
    expect([...bf.indexes()]).toEqual([0, 7, 8, 9])

    const parsed = Bitfield.fromBytes(12, Uint8Array.of(0b0100_0000, 0b0001_0000))
    expect([...parsed.indexes()]).toEqual([1, 11])
    expect(parsed.count()).toBe(2)
  })

  it('makes a full field with the spare bits clear', () => {
    expect([...Bitfield.full(10).toBytes()]).toEqual([0xff, 0b1100_0000])
    expect([...Bitfield.full(16).toBytes()]).toEqual([0xff, 0xff])
    const full = Bitfield.full(13)
    expect(full.count()).toBe(13)
    expect(full.isFull()).toBe(true)
    expect(Bitfield.fromBytes(13, full.toBytes()).isFull()).toBe(true)
    expect(Bitfield.full(0).isFull()).toBe(true)
    expect(Bitfield.full(0).toBytes()).toHaveLength(0)
  })

  it('counts set pieces, idempotently, and knows when it is full', () => {
    const bf = new Bitfield(3)
    expect(bf.count()).toBe(0)
    expect(bf.isFull()).toBe(false)
    bf.set(1); bf.set(1); bf.set(0)
    expect(bf.count()).toBe(2)
    bf.set(2)
    expect(bf.isFull()).toBe(true)
    bf.clear(1); bf.clear(1)
    expect(bf.count()).toBe(2)
    expect(bf.has(1)).toBe(false)
  })

  it('round-trips random fields through bytes', () => {
    const random = seeded(11)
    for (const size of [1, 7, 8, 9, 63, 64, 65, 1000]) {
      const bf = new Bitfield(size)
      const want = new Set<number>()
      for (let i = 0; i < size; i++) if (random() < 0.3) { bf.set(i); want.add(i) }
      const back = Bitfield.fromBytes(size, bf.toBytes())
      expect([...back.indexes()]).toEqual([...want].sort((a, b) => a - b))
      expect(back.count()).toBe(want.size)
      expect(back.toBytes()).toHaveLength(Math.ceil(size / 8))
    }
  })

  it('copies bytes in and out', () => {
    const bytes = Uint8Array.of(0x80)
    const bf = Bitfield.fromBytes(8, bytes)
    bytes[0] = 0xff
    expect(bf.count()).toBe(1)
    const out = bf.toBytes()
    out[0] = 0
    expect(bf.has(0)).toBe(true)
    const copy = bf.clone()
    copy.set(5)
    expect(bf.has(5)).toBe(false)
  })

  it('refuses a payload of the wrong length or with spare bits set, and indexes out of range', () => {
    expect(() => Bitfield.fromBytes(10, new Uint8Array(1))).toThrow(RangeError)
    expect(() => Bitfield.fromBytes(10, new Uint8Array(3))).toThrow(RangeError)
    expect(() => Bitfield.fromBytes(10, Uint8Array.of(0, 0b0010_0000))).toThrow(/spare bits/)
    expect(() => Bitfield.fromBytes(10, Uint8Array.of(0, 0b0000_0001))).toThrow(RangeError)
    expect(Bitfield.fromBytes(8, Uint8Array.of(0xff)).isFull()).toBe(true)
    expect(() => new Bitfield(-1)).toThrow(RangeError)
    expect(() => new Bitfield(2.5)).toThrow(RangeError)
    const bf = new Bitfield(10)
    expect(() => bf.has(10)).toThrow(RangeError)
    expect(() => bf.has(-1)).toThrow(RangeError)
    expect(() => bf.set(1.5)).toThrow(RangeError)
  })

  it('says what is wrong in its errors, and checks the index of clear() too', () => {
    expect(() => new Bitfield(-1)).toThrow('bitfield size must be an integer ≥ 0, got -1')
    expect(() => Bitfield.fromBytes(10, new Uint8Array(1))).toThrow('a bitfield of 10 pieces is 2 bytes, got 1')
    expect(() => Bitfield.fromBytes(8, [0] as unknown as Uint8Array)).toThrow(new TypeError('bitfield bytes must be a Uint8Array'))
    const bf = new Bitfield(10)
    expect(() => bf.has(10)).toThrow('piece index 10 out of range [0, 10)')
    expect(() => bf.clear(10)).toThrow('piece index 10 out of range [0, 10)')
    expect(() => bf.clear(-1)).toThrow(RangeError)
    expect(() => bf.nextSet(1.5)).toThrow('piece index 1.5 is not an integer')
  })

  it('nextSet() starts from 0 for a negative index and returns -1 at and past the end', () => {
    const bf = new Bitfield(20)
    for (const i of [0, 3, 19]) bf.set(i)
    expect(bf.nextSet(-3)).toBe(0)
    expect(bf.nextSet(1)).toBe(3)
    expect(bf.nextSet(4)).toBe(19)
    expect(bf.nextSet(20)).toBe(-1)
    expect(bf.nextSet(1000)).toBe(-1)
  })
})

describe('Bitfield.problem and byteLength (checks of untrusted bytes)', () => {
  it('says what is wrong with a payload, and nothing for a valid one', () => {
    expect(Bitfield.byteLength(1)).toBe(1)
    expect(Bitfield.byteLength(8)).toBe(1)
    expect(Bitfield.byteLength(9)).toBe(2)
    expect(Bitfield.problem(Bitfield.full(10).toBytes(), 10)).toBeUndefined()
    expect(Bitfield.problem(Bitfield.full(16).toBytes(), 16)).toBeUndefined()
    expect(Bitfield.problem(new Uint8Array(3), 10)).toMatch(/3 bytes, 2 expected/)
    expect(Bitfield.problem(Uint8Array.of(0xff, 0xe0), 10)).toMatch(/spare bits/)
    // what problem() accepts, fromBytes() takes
    expect(Bitfield.fromBytes(10, Uint8Array.of(0xff, 0xc0)).count()).toBe(10)
  })
})
