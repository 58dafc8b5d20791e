import { describe, expect, it } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as native from '../index.js'
import {
  blake3,
  rsEncode,
  rsEncodeIntoSync,
  rsEncodeSync,
  rsReconstruct,
  rsReconstructSync,
  sha256,
  sha256Batch
} from '../index.js'

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..')
const b = (n: number, fill = 1): Buffer => Buffer.alloc(n, fill)
const any = (x: unknown): never => x as never
/** Errors come from the main realm, not jest's sandbox realm: no `instanceof Error`. */
const isError = (e: unknown): boolean => Object.prototype.toString.call(e) === '[object Error]'

/** Sync call throws an Error with `code`; async twin rejects with the same code. */
async function expectCode(code: string, sync: () => unknown, async_?: () => Promise<unknown>): Promise<void> {
  let thrown: unknown
  try {
    sync()
  } catch (e) {
    thrown = e
  }
  expect(isError(thrown)).toBe(true)
  expect((thrown as { code?: string }).code).toBe(code)
  expect((thrown as Error).message.length).toBeGreaterThan(0)
  if (async_) {
    // async APIs never throw synchronously: they return a rejected promise
    const p = async_()
    expect(typeof (p as Promise<unknown>).then).toBe('function')
    await expect(p).rejects.toMatchObject({ code })
    const e = await async_().then(
      () => null,
      (err: unknown) => err
    )
    expect(isError(e)).toBe(true)
  }
}

describe('typed errors: encode', () => {
  it('shards of unequal length -> ERR_SHARD_SIZE_MISMATCH', async () => {
    await expectCode('ERR_SHARD_SIZE_MISMATCH', () => rsEncodeSync([b(10), b(11)], 2), () => rsEncode([b(10), b(11)], 2))
  })
  it('empty shard -> ERR_EMPTY_SHARD', async () => {
    await expectCode('ERR_EMPTY_SHARD', () => rsEncodeSync([b(0)], 2), () => rsEncode([b(0)], 2))
    await expectCode('ERR_EMPTY_SHARD', () => rsEncodeSync([b(5), b(0)], 2), () => rsEncode([b(5), b(0)], 2))
  })
  it('zero data shards -> ERR_INVALID_ARGUMENT', async () => {
    await expectCode('ERR_INVALID_ARGUMENT', () => rsEncodeSync([], 2), () => rsEncode([], 2))
  })
  it('zero / negative / fractional / non-number parityCount -> ERR_INVALID_ARGUMENT', async () => {
    for (const m of [0, -1, 1.5, NaN, Infinity, '2', null, undefined, 2 ** 40]) {
      await expectCode('ERR_INVALID_ARGUMENT', () => rsEncodeSync([b(8)], any(m)), () => rsEncode([b(8)], any(m)))
    }
  })
  it('more than 256 shards in total -> ERR_TOO_MANY_SHARDS', async () => {
    const data = Array.from({ length: 250 }, () => b(4))
    await expectCode('ERR_TOO_MANY_SHARDS', () => rsEncodeSync(data, 7), () => rsEncode(data, 7))
    expect(rsEncodeSync(data, 6)).toHaveLength(6)
    const tooMany = Array.from({ length: 300 }, () => b(4))
    await expectCode('ERR_TOO_MANY_SHARDS', () => rsEncodeSync(tooMany, 1), () => rsEncode(tooMany, 1))
  })
  it('non-array / non-Buffer elements -> ERR_INVALID_ARGUMENT (a TypeError)', async () => {
    for (const data of [null, undefined, 'abc', 42, {}, b(4)]) {
      await expectCode('ERR_INVALID_ARGUMENT', () => rsEncodeSync(any(data), 2), () => rsEncode(any(data), 2))
    }
    for (const el of [null, undefined, 'abcd', 7, {}, [1, 2], new Uint16Array(4), new DataView(new ArrayBuffer(4))]) {
      await expectCode('ERR_INVALID_ARGUMENT', () => rsEncodeSync(any([b(4), el]), 2), () => rsEncode(any([b(4), el]), 2))
    }
    expect(() => rsEncodeSync(any(null), 2)).toThrow(expect.objectContaining({ name: 'TypeError' }))
  })
  it('rsEncodeIntoSync validates its outputs', async () => {
    await expectCode('ERR_SHARD_SIZE_MISMATCH', () => rsEncodeIntoSync([b(8)], [b(7)]))
    await expectCode('ERR_INVALID_ARGUMENT', () => rsEncodeIntoSync([b(8)], []))
    const shared = b(16)
    await expectCode('ERR_INVALID_ARGUMENT', () => rsEncodeIntoSync([shared.subarray(0, 8)], [shared.subarray(4, 12)]))
    const p = b(8)
    await expectCode('ERR_INVALID_ARGUMENT', () => rsEncodeIntoSync([b(8)], [p, p]))
  })
})

describe('typed errors: reconstruct', () => {
  const data = [b(10, 1), b(10, 2), b(10, 3)]
  const parity = rsEncodeSync(data, 2)
  it('more missing shards than parity -> ERR_TOO_FEW_SHARDS', async () => {
    const s = [null, null, data[2], null, parity[1]]
    await expectCode('ERR_TOO_FEW_SHARDS', () => rsReconstructSync(s, 3), () => rsReconstruct(s, 3))
    const none = [null, null, null, null, null]
    await expectCode('ERR_TOO_FEW_SHARDS', () => rsReconstructSync(none, 3), () => rsReconstruct(none, 3))
  })
  it('unequal lengths -> ERR_SHARD_SIZE_MISMATCH', async () => {
    const s = [data[0], null, b(11), ...parity]
    await expectCode('ERR_SHARD_SIZE_MISMATCH', () => rsReconstructSync(s, 3), () => rsReconstruct(s, 3))
  })
  it('empty shard -> ERR_EMPTY_SHARD', async () => {
    const s = [data[0], b(0), data[2], ...parity]
    await expectCode('ERR_EMPTY_SHARD', () => rsReconstructSync(s, 3), () => rsReconstruct(s, 3))
  })
  it('zero data shards, no parity, dataCount > shards -> ERR_INVALID_ARGUMENT', async () => {
    const s = [...data, ...parity]
    for (const k of [0, 5, 6, -1, 2.5, '3']) {
      await expectCode('ERR_INVALID_ARGUMENT', () => rsReconstructSync(s, any(k)), () => rsReconstruct(s, any(k)))
    }
  })
  it('more than 256 shards -> ERR_TOO_MANY_SHARDS', async () => {
    const s = Array.from({ length: 257 }, () => b(4))
    await expectCode('ERR_TOO_MANY_SHARDS', () => rsReconstructSync(s, 200), () => rsReconstruct(s, 200))
  })
  it('bad shard types -> ERR_INVALID_ARGUMENT', async () => {
    for (const el of ['x', 1, {}, new Float64Array(2)]) {
      const s = [data[0], any(el), data[2], ...parity]
      await expectCode('ERR_INVALID_ARGUMENT', () => rsReconstructSync(s, 3), () => rsReconstruct(s, 3))
    }
    await expectCode('ERR_INVALID_ARGUMENT', () => rsReconstructSync(any('nope'), 3), () => rsReconstruct(any('nope'), 3))
  })
})

describe('typed errors: hashes', () => {
  it('non-Buffer input -> ERR_INVALID_ARGUMENT', async () => {
    for (const x of [null, undefined, 'abc', 1, {}, [1]]) {
      await expectCode('ERR_INVALID_ARGUMENT', () => sha256(any(x)))
      await expectCode('ERR_INVALID_ARGUMENT', () => blake3(any(x)))
    }
    await expect(sha256Batch(any('x'))).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    await expect(sha256Batch(any([b(3), 'x']))).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
  })
})

describe('a Rust panic is an ERR_INTERNAL error, not a crash', () => {
  it('every entry point, with panics injected in a child process', () => {
    const script = `
      const n = require(${JSON.stringify(join(pkgDir, 'index.js'))});
      const b = Buffer.alloc(8, 1);
      const out = {};
      const grab = (name, f) => { try { f(); out[name] = 'no error'; } catch (e) { out[name] = e.code; } };
      grab('rsEncodeSync', () => n.rsEncodeSync([b], 1));
      grab('rsEncodeIntoSync', () => n.rsEncodeIntoSync([b], [Buffer.alloc(8)]));
      grab('rsReconstructSync', () => n.rsReconstructSync([null, b], 1));
      grab('sha256', () => n.sha256(b));
      grab('blake3', () => n.blake3(b));
      Promise.all([
        n.rsEncode([b], 1).then(() => 'no error', e => e.code),
        n.rsReconstruct([null, b], 1).then(() => 'no error', e => e.code),
        n.sha256Batch([b]).then(() => 'no error', e => e.code),
      ]).then(([e, r, s]) => {
        out.rsEncode = e; out.rsReconstruct = r; out.sha256Batch = s;
        console.log(JSON.stringify(out));
      });
    `
    const res = spawnSync(process.execPath, ['-e', script], {
      env: { ...process.env, CODIO_NATIVE_FAULT_INJECTION: 'panic' },
      encoding: 'utf8'
    })
    expect(res.status).toBe(0)
    const out = JSON.parse(res.stdout.trim().split('\n').pop() ?? '{}')
    for (const name of [
      'rsEncodeSync',
      'rsEncodeIntoSync',
      'rsReconstructSync',
      'sha256',
      'blake3',
      'rsEncode',
      'rsReconstruct',
      'sha256Batch'
    ]) {
      expect([name, out[name]]).toEqual([name, 'ERR_INTERNAL'])
    }
  })

  it('exports exactly the documented functions', () => {
    const names = Object.keys(native).filter(n => n !== 'default' && n !== 'module.exports' && !n.startsWith('__')).sort()
    expect(names).toEqual(
      [
        'blake3',
        'rsEncode',
        'rsEncodeIntoSync',
        'rsEncodeSync',
        'rsReconstruct',
        'rsReconstructSync',
        'sha256',
        'sha256Batch',
        'simdLevel'
      ].sort()
    )
  })
})
