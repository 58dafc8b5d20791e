import { describe, test } from '@jest/globals'
import { fuzzRuns, runTarget, targets } from '../src/index.js'

// Short runs of every target (FUZZ_RUNS, default 2000); `npm run fuzz` runs 1,000,000 each.
// A failure names fast-check's seed and path: FUZZ_SEED=… FUZZ_PATH=… replays it.
describe('fuzz targets', () => {
  for (const t of targets) {
    test(t.name, async () => { await runTarget(t, fuzzRuns(2000)) })
  }
})
