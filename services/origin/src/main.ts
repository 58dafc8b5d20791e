#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { loadNodeConfigOrExit } from '@codio/node-config'
import { cannotStart, onShutdown, readPackageVersion } from '@codio/service'
import { createLogger } from '@codio/telemetry'
import { startTracing } from '@codio/tracing'
import { createOrigin } from './origin.js'

const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' } } })
// layers: defaults, file, env, then the cluster document and this node's runtime updates (persisted in dataDir)
const layered = loadNodeConfigOrExit('origin', { file: values.config, env: process.env })
// a copy the origin reads per upload; its live ingest settings follow the layered config
const config = structuredClone(layered.current)
layered.onChange(c => { config.ingest = c.ingest })
const log = createLogger({ name: config.name, level: config.logLevel })
// OpenTelemetry traces when OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT is set (service name codio-origin), else off
const tracing = await startTracing({ role: 'origin' })
layered.setLog(log.child({ component: 'config' }))
// a start refused (token files, credentials required beyond loopback, TLS files): one clear line, exit 1
const refused = cannotStart('codio-origin', log)
const origin = await createOrigin(config, log, await readPackageVersion(new URL('../package.json', import.meta.url))).catch(refused)
origin.useConfig(layered)
await origin.start().catch(refused)
onShutdown(async () => { await origin.stop(); await tracing.shutdown() }, { log, trigger: origin.drained })
