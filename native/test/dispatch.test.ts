import { describe, expect, it } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { simdLevel } from '../index.js'

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..')
const LEVELS = ['scalar', 'ssse3', 'avx2', 'avx2-gfni', 'avx512-gfni']

/**
 * Every kernel level the CPU supports (capped with CODIO_NATIVE_SIMD in a
 * child process) must produce byte-identical parity and rebuilds.
 */
describe('run-time SIMD dispatch', () => {
  it('every supported kernel gives identical results', () => {
    const script = `
      const n = require(${JSON.stringify(join(pkgDir, 'index.js'))});
      const { createHash } = require('node:crypto');
      let seed = 12345;
      const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
      const out = { level: n.simdLevel(), digests: [] };
      for (const [k, m, len] of [[10, 4, 65536 + 77], [3, 9, 1000], [20, 17, 4097], [1, 1, 5]]) {
        const data = Array.from({ length: k }, () => Buffer.from(Array.from({ length: len }, rnd)));
        const parity = n.rsEncodeSync(data, m);
        const shards = [...data, ...parity].map((s, i) => (i % 3 === 0 && i / 3 < m ? null : s));
        const rebuilt = n.rsReconstructSync(shards, k);
        const h = createHash('sha256');
        parity.forEach(p => h.update(p));
        rebuilt.forEach(p => h.update(p));
        out.digests.push(h.digest('hex'));
      }
      console.log(JSON.stringify(out));
    `
    const results = LEVELS.map(level => {
      const res = spawnSync(process.execPath, ['-e', script], {
        env: { ...process.env, CODIO_NATIVE_SIMD: level },
        encoding: 'utf8'
      })
      expect(res.status).toBe(0)
      return { requested: level, ...JSON.parse(res.stdout) }
    })
    const best = simdLevel()
    for (const r of results) {
      // never above what was requested, never above what the CPU has
      expect(LEVELS.indexOf(r.level)).toBeLessThanOrEqual(LEVELS.indexOf(r.requested))
      expect(LEVELS.indexOf(r.level)).toBeLessThanOrEqual(LEVELS.indexOf(best))
      expect(r.digests).toEqual(results[0].digests)
    }
    expect(results[0].level).toBe('scalar')
  })
})
