#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { loadConfigOrExit } from '@codio/config'
import { cannotStart, onShutdown } from '@codio/service/health'
import { createLogger } from '@codio/telemetry'
import { trackerConfigSchema } from './config.js'
import { createTracker } from './tracker.js'

const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' } } })
const config = loadConfigOrExit({ schema: trackerConfigSchema, file: values.config, env: process.env })
const log = createLogger({ name: config.name, level: config.logLevel })
const tracker = createTracker(config, log)
// a start refused (token files, credentials required beyond loopback, TLS files): one clear line, exit 1
await tracker.start().catch(cannotStart('codio-tracker', log))
onShutdown(() => tracker.stop(), { log })
