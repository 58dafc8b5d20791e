#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { loadConfigOrExit } from '@codio/config'
import { cannotStart, onShutdown } from '@codio/service/health'
import { createLogger } from '@codio/telemetry'
import { startTracing } from '@codio/tracing'
import { trackerConfigSchema } from './config.js'
import { createTracker } from './tracker.js'

const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' } } })
const config = loadConfigOrExit({ schema: trackerConfigSchema, file: values.config, env: process.env })
const log = createLogger({ name: config.name, level: config.logLevel })
// OpenTelemetry traces when OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT is set (service name codio-tracker), else off
const tracing = await startTracing({ role: 'tracker' })
const tracker = createTracker(config, log)
// a start refused (token files, credentials required beyond loopback, TLS files): one clear line, exit 1
await tracker.start().catch(cannotStart('codio-tracker', log))
onShutdown(async () => { await tracker.stop(); await tracing.shutdown() }, { log })
