import { describe, expect, test } from '@jest/globals'
import { fuzzRuns, runTarget, targets } from '../src/index.js'

// Every target: first its committed inputs (corpus/<target>/ and the crashes kept in
// crashes/<target>/), then a short run of generated ones (FUZZ_RUNS, default 1000); `npm run
// fuzz` runs 1,000,000 each. A failure saves the input in crashes/<target>/ and names fast-check's
// seed and path: FUZZ_SEED=… FUZZ_PATH=… replays it.
describe('fuzz targets', () => {
  for (const t of targets) {
    test(t.name, async () => {
      const r = await runTarget(t, fuzzRuns(1000))
      // the corpus is read: every target has one
      expect(r.replayed).toBeGreaterThan(0)
    })
  }
})
