#!/bin/sh
# `npm run test:mutation [package…]`: StrykerJS over the swarm engine, the choker, FEC planning
# and the manifest/signature code (each package's stryker.config.mjs, settings in
# stryker.base.mjs), one after another; JSON reports in reports/mutation/<name>.json, then a
# score per file (scripts/mutation-summary.mjs). Slow: every mutant re-runs its tests.
set -eu
cd "$(dirname "$0")/.."
packages=${*:-libs/swarm libs/choker libs/fec libs/content libs/signing}
for p in $packages; do
  for config in "$p"/stryker*.config.mjs; do
    echo "== $config"
    (cd "$p" && npx stryker run "$(basename "$config")")
  done
done
node scripts/mutation-summary.mjs
