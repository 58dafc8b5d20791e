#!/usr/bin/env node
// The `codio` command. A committed file rather than dist/bin.js, so that `npm install` links
// node_modules/.bin/codio on a fresh clone before anything is built (npm skips a missing bin).
import { existsSync } from 'node:fs'

const bin = new URL('../dist/bin.js', import.meta.url)
if (!existsSync(bin)) {
  process.stderr.write('codio: the CLI is not built yet: run `npm run build` (or `npm start`) in the repository first\n')
  process.exit(1)
}
await import(bin.href)
