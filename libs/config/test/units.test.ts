import { describe, it, expect } from '@jest/globals'
import { byteSize, duration, parseByteSize, parseDuration } from '../src/units.js'

describe('byteSize', () => {
  it('parses IEC and SI units and plain numbers', () => {
    expect(byteSize.parse('64MiB')).toBe(67_108_864)
    expect(byteSize.parse('1GiB')).toBe(1_073_741_824)
    expect(byteSize.parse('512KiB')).toBe(524_288)
    expect(byteSize.parse('10MB')).toBe(10_000_000)
    expect(byteSize.parse('1.5GB')).toBe(1_500_000_000)
    expect(byteSize.parse('1.1KB')).toBe(1100)
    expect(byteSize.parse('100 b')).toBe(100)
    expect(byteSize.parse('4kib')).toBe(4096)
    expect(byteSize.parse(0)).toBe(0)
    expect(byteSize.parse(1234)).toBe(1234)
    expect(byteSize.parse('1234')).toBe(1234)
  })

  it('rejects negative, fractional, unknown units and other types', () => {
    for (const bad of [-1, 1.5, '1.5B', '10 parsecs', 'MiB', '-5MiB', '64M', true, null, [], '1e3KB', Number.NaN]) {
      const r = byteSize.safeParse(bad)
      expect([bad, r.success]).toEqual([bad, false])
    }
    expect(() => parseByteSize('10 parsecs')).toThrow(/invalid byte size "10 parsecs"/)
  })
})

describe('duration', () => {
  it('parses ms, s, m, h, d, compounds and numbers of milliseconds', () => {
    expect(duration.parse('500ms')).toBe(500)
    expect(duration.parse('10s')).toBe(10_000)
    expect(duration.parse('5m')).toBe(300_000)
    expect(duration.parse('24h')).toBe(86_400_000)
    expect(duration.parse('1h30m')).toBe(5_400_000)
    expect(duration.parse('1.5s')).toBe(1500)
    expect(duration.parse(250)).toBe(250)
  })

  it('rejects bare numeric strings, unknown units, negatives and other types', () => {
    for (const bad of ['10', '10 seconds', '5y', '-1s', '', 'ms', -5, Infinity, false]) {
      const r = duration.safeParse(bad)
      expect([bad, r.success]).toEqual([bad, false])
    }
    expect(() => parseDuration('5y')).toThrow(/invalid duration "5y"/)
  })
})
