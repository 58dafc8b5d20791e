/**
 * `npm run fuzz [name…]`: every target (or those named) for `FUZZ_RUNS` inputs each, default
 * 1,000,000; prints runs/s per target and a summary. A failure prints fast-check's seed and
 * path: `FUZZ_SEED=<seed> FUZZ_PATH=<path> npm run fuzz <target>` replays it.
 */
import { fuzzRuns, runTarget, targets } from './index.js'

const runs = fuzzRuns(1_000_000)
const wanted = process.argv.slice(2)
const chosen = wanted.length === 0 ? targets : targets.filter(t => wanted.includes(t.name))
if (chosen.length === 0) {
  console.error(`no target named ${wanted.join(', ')}; targets: ${targets.map(t => t.name).join(', ')}`)
  process.exit(2)
}
const rows: Array<{ target: string, runs: number, seconds: string, 'runs/s': number, result: string }> = []
for (const t of chosen) {
  process.stdout.write(`${t.name}: ${runs} inputs… `)
  try {
    const r = await runTarget(t, runs)
    console.log(`${Math.round(r.perSecond)} runs/s, ${(r.ms / 1000).toFixed(1)} s`)
    rows.push({ target: t.name, runs, seconds: (r.ms / 1000).toFixed(1), 'runs/s': Math.round(r.perSecond), result: 'ok' })
  } catch (err) {
    console.log('FAILED')
    console.error((err as Error).message)
    rows.push({ target: t.name, runs, seconds: '-', 'runs/s': 0, result: 'FAILED' })
  }
}
console.table(rows)
process.exitCode = rows.some(r => r.result !== 'ok') ? 1 : 0
