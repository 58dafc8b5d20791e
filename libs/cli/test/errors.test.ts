import { describe, it, expect } from '@jest/globals'
import * as errors from '../src/errors.js'
import { parseSize } from '../src/format.js'
import { guessMediaType } from '../src/media-types.js'

describe('errors', () => {
  it('every error class has name equal to its class name', () => {
    const classes = Object.entries(errors)
    expect(classes.length).toBeGreaterThan(5)
    for (const [exported, Cls] of classes) {
      const err = new (Cls as new (...args: any[]) => Error)('x', 'y', 'z', 'w')
      expect(err.name).toBe(exported)
      expect(Cls.name).toBe(exported)
      expect(err).toBeInstanceOf(Error)
    }
  })
})

describe('helpers', () => {
  it('parseSize', () => {
    expect(parseSize('262144')).toBe(262144)
    expect(parseSize('256k')).toBe(262144)
    expect(parseSize('1MiB')).toBe(1048576)
    expect(parseSize('0')).toBeUndefined()
    expect(parseSize('-5')).toBeUndefined()
    expect(parseSize('1.5m')).toBeUndefined()
  })

  it('guessMediaType', () => {
    expect(guessMediaType('a/B.MP4')).toBe('video/mp4')
    expect(guessMediaType('x.json')).toBe('application/json')
    expect(guessMediaType('noext')).toBe('application/octet-stream')
  })
})
