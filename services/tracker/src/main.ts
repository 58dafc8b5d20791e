#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { loadConfigOrExit } from '@codio/config'
import { onShutdown } from '@codio/service/health'
import { createLogger } from '@codio/telemetry'
import { trackerConfigSchema } from './config.js'
import { createTracker } from './tracker.js'

const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' } } })
const config = loadConfigOrExit({ schema: trackerConfigSchema, file: values.config, env: process.env })
const log = createLogger({ name: config.name, level: config.logLevel })
const tracker = createTracker(config, log)
// a start refused (token files, credentials required beyond loopback, TLS files): one clear line, exit 1
await tracker.start().catch((err: Error) => {
  log.fatal({ err: err.message, error: err.name }, 'cannot start')
  log.flush()
  process.stderr.write(`codio-tracker: cannot start: ${err.message}\n`)
  process.exit(1)
})
onShutdown(() => tracker.stop(), { log })
