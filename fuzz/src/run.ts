/**
 * `npm run fuzz [name…]`: every target (or those named): first its committed inputs
 * (`corpus/<target>/`, `crashes/<target>/`), then `FUZZ_RUNS` generated inputs each, default
 * 1,000,000; the first input of each new behaviour joins the corpus (`found-*.json`, at most
 * 25 a target a run; `FUZZ_GROW=0` turns it off) and a failing input is saved, shrunk, in
 * `crashes/<target>/`. Prints runs/s per target and a summary. A failure also prints
 * fast-check's seed and path: `FUZZ_SEED=<seed> FUZZ_PATH=<path> npm run fuzz <target>` replays it.
 */
import { fuzzRuns, runTarget, targets } from './index.js'

const runs = fuzzRuns(1_000_000)
const wanted = process.argv.slice(2)
const chosen = wanted.length === 0 ? targets : targets.filter(t => wanted.includes(t.name))
if (chosen.length === 0) {
  console.error(`no target named ${wanted.join(', ')}; targets: ${targets.map(t => t.name).join(', ')}`)
  process.exit(2)
}
const growCorpus = process.env.FUZZ_GROW !== '0'
const rows: Array<{ target: string, replayed: number, runs: number, seconds: string, 'runs/s': number, 'new corpus': number, result: string }> = []
for (const t of chosen) {
  process.stdout.write(`${t.name}: ${runs} inputs… `)
  try {
    const r = await runTarget(t, runs, { growCorpus })
    console.log(`${Math.round(r.perSecond)} runs/s, ${(r.ms / 1000).toFixed(1)} s (${r.replayed} stored inputs replayed first, ${r.added.length} added to the corpus)`)
    rows.push({ target: t.name, replayed: r.replayed, runs, seconds: (r.ms / 1000).toFixed(1), 'runs/s': Math.round(r.perSecond), 'new corpus': r.added.length, result: 'ok' })
  } catch (err) {
    console.log('FAILED')
    console.error((err as Error).message)
    rows.push({ target: t.name, replayed: 0, runs, seconds: '-', 'runs/s': 0, 'new corpus': 0, result: 'FAILED' })
  }
}
console.table(rows)
process.exitCode = rows.some(r => r.result !== 'ok') ? 1 : 0
