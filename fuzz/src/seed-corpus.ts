/**
 * `npm run fuzz:seed [name…]`: writes every target's hand-picked inputs (`seeds`) to
 * `corpus/<target>/seed-<hash>.json` and the inputs that failed before crashes were kept
 * (`kept`) to `crashes/<target>/`. Idempotent: a file is named by its input's hash.
 */
import { corpusDir, crashDir, storeInput } from './corpus.js'
import { targets } from './index.js'

const wanted = process.argv.slice(2)
for (const t of targets.filter(t => wanted.length === 0 || wanted.includes(t.name))) {
  const seeds = await t.seeds?.() ?? []
  for (const s of seeds) storeInput(corpusDir(t.name), 'seed', s.input, s.note)
  const kept = t.kept?.() ?? []
  for (const s of kept) storeInput(crashDir(t.name), 'crash', s.input, s.note)
  console.log(`${t.name}: ${seeds.length} seeds, ${kept.length} kept crashes`)
}
