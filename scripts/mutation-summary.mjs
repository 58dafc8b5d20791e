#!/usr/bin/env node
/**
 * Prints the mutation score of every file in reports/mutation/*.json (StrykerJS's
 * mutation-testing-report-schema): killed + timeout over all valid mutants (no coverage
 * counts as survived), as Stryker's own "total" column, and the surviving mutants per file.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'

const dir = new URL('../reports/mutation/', import.meta.url).pathname
const rows = []
for (const name of (await readdir(dir)).filter(f => f.endsWith('.json')).sort()) {
  const report = JSON.parse(await readFile(join(dir, name), 'utf8'))
  for (const [file, { mutants }] of Object.entries(report.files)) {
    const by = (s) => mutants.filter(m => m.status === s).length
    const detected = by('Killed') + by('Timeout')
    const valid = detected + by('Survived') + by('NoCoverage')
    rows.push({ report: name.replace(/\.json$/, ''), file, mutants: valid, killed: by('Killed'), timeout: by('Timeout'), survived: by('Survived'), 'no cov': by('NoCoverage'), 'score %': valid === 0 ? 100 : +(100 * detected / valid).toFixed(1) })
  }
}
console.table(rows)
const total = rows.reduce((a, r) => ({ mutants: a.mutants + r.mutants, detected: a.detected + r.killed + r.timeout }), { mutants: 0, detected: 0 })
console.log(`all files: ${total.detected} of ${total.mutants} mutants detected, score ${(100 * total.detected / total.mutants).toFixed(1)} %`)
