#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { loadNodeConfigOrExit } from '@codio/node-config'
import { cannotStart, onShutdown, readPackageVersion } from '@codio/service'
import { createLogger } from '@codio/telemetry'
import { startTracing } from '@codio/tracing'
import { createRelay } from './relay.js'

const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' } } })
// layers: defaults, file, env, then the cluster document and this node's runtime updates (persisted in dataDir)
const layered = loadNodeConfigOrExit('relay', { file: values.config, env: process.env })
const config = layered.current
const log = createLogger({ name: config.name, level: config.logLevel })
// OpenTelemetry traces when OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT is set (service name codio-relay), else off
const tracing = await startTracing({ role: 'relay' })
layered.setLog(log.child({ component: 'config' }))
// a start refused (token files, credentials required beyond loopback, TLS files): one clear line, exit 1
const refused = cannotStart('codio-relay', log)
const relay = await createRelay(config, log, await readPackageVersion(new URL('../package.json', import.meta.url))).catch(refused)
relay.useConfig(layered)
await relay.start().catch(refused)
onShutdown(async () => { await relay.stop(); await tracing.shutdown() }, { log, trigger: relay.drained })
