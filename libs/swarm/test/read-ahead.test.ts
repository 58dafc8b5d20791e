import { describe, expect, it } from '@jest/globals'
import { ReadAhead } from '../src/read-ahead.js'

const bytes = (i: number): Uint8Array => new Uint8Array([i])

describe('ReadAhead: verified chunks held for the reader', () => {
  it('keeps chunks inside the window ahead of the reader, each handed out once', () => {
    const ra = new ReadAhead(3, 10)
    for (const i of [9, 10, 12, 13, 14]) ra.done(i, bytes(i))
    // 9 is behind the reader, 13 and 14 past the window 10..12
    expect(ra.size).toBe(2)
    expect(ra.take(10)).toEqual(bytes(10))
    expect(ra.take(10)).toBeUndefined()
    expect(ra.take(11)).toBeUndefined() // never held: the reader reads the store
    // the window moved to 12..14
    ra.done(14, bytes(14))
    expect(ra.take(12)).toEqual(bytes(12))
    expect(ra.take(13)).toBeUndefined()
    expect(ra.take(14)).toEqual(bytes(14))
    expect(ra.size).toBe(0)
  })

  it('releases what the reader skipped, and holds at most `window` chunks', () => {
    const ra = new ReadAhead(4, 0)
    for (let i = 0; i < 4; i++) ra.done(i, bytes(i))
    expect(ra.size).toBe(4)
    expect(ra.take(2)).toEqual(bytes(2)) // a reader that jumped ahead: 0 and 1 are released
    expect(ra.size).toBe(1)
    expect(ra.take(0)).toBeUndefined()
  })

  it('a window of 0 keeps nothing; a window that is not an integer ≥ 0 is a RangeError', () => {
    const ra = new ReadAhead(0, 0)
    ra.done(0, bytes(0))
    expect(ra.take(0)).toBeUndefined()
    expect(() => new ReadAhead(-1, 0)).toThrow(RangeError)
    expect(() => new ReadAhead(1.5, 0)).toThrow(RangeError)
  })
})
