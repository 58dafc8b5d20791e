import { describe, it, expect } from '@jest/globals'
import { z } from 'zod'
import { loadConfigOrExit } from '../src/load-config-or-exit.js'

class Exit extends Error {
  constructor (readonly code: number | string | null | undefined) { super(`exit ${code}`) }
}

/** Runs `fn` with process.exit and stderr captured. */
function captureExit (fn: () => unknown): { code?: number | string | null, stderr: string, value?: unknown } {
  const realExit = process.exit
  const realWrite = process.stderr.write
  let stderr = ''
  process.exit = ((code?: number | string | null) => { throw new Exit(code) }) as typeof process.exit
  process.stderr.write = ((chunk: string | Uint8Array) => { stderr += String(chunk); return true }) as typeof process.stderr.write
  try {
    return { value: fn(), stderr }
  } catch (err) {
    if (err instanceof Exit) return { code: err.code, stderr }
    throw err
  } finally {
    process.exit = realExit
    process.stderr.write = realWrite
  }
}

const schema = z.strictObject({ port: z.number().default(80), name: z.string().default('x'), http: z.strictObject({ host: z.string().default('h') }).prefault({}) })

describe('loadConfigOrExit', () => {
  it('prints every issue to stderr and exits 1', () => {
    const r = captureExit(() => loadConfigOrExit({ schema, env: { CODIO_PORT: '"eighty"', CODIO_NAME: '5', CODIO_HTTP__NOPE: '1' } }))
    expect(r.code).toBe(1)
    const lines = r.stderr.trimEnd().split('\n')
    expect(lines[0]).toBe('invalid configuration:')
    expect(lines).toHaveLength(3)
    expect(r.stderr).toMatch(/^ {2}http\.nope: no such setting \(from CODIO_HTTP__NOPE\)$/m)
    expect(r.stderr).toMatch(/^ {2}port: .*expected number, received string \(from CODIO_PORT\)$/m)
  })

  it('returns the configuration when it is valid', () => {
    const r = captureExit(() => loadConfigOrExit({ schema, env: { CODIO_PORT: '81' } }))
    expect(r.code).toBeUndefined()
    expect(r.stderr).toBe('')
    expect(r.value).toEqual({ port: 81, name: 'x', http: { host: 'h' } })
  })
})
