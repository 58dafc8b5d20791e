import { describe, expect, it } from '@jest/globals'
import * as errors from '../src/errors.js'

describe('errors', () => {
  it('each error class has its own name, so callers can branch on it', () => {
    const classes = Object.entries(errors).filter(([, v]) => typeof v === 'function') as Array<[string, new (m: string, c?: any) => Error]>
    expect(classes.length).toBeGreaterThanOrEqual(8)
    for (const [name, Cls] of classes) {
      const e = new Cls('x', 'internal')
      expect(e.name).toBe(name)
      expect(e).toBeInstanceOf(Error)
    }
  })
})
