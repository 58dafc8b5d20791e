#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { loadNodeConfigOrExit } from '@codio/node-config'
import { onShutdown, readPackageVersion } from '@codio/service'
import { createLogger } from '@codio/telemetry'
import { createOrigin } from './origin.js'

const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' } } })
// layers: defaults, file, env, then the cluster document and this node's runtime updates (persisted in dataDir)
const layered = loadNodeConfigOrExit('origin', { file: values.config, env: process.env })
// a copy the origin reads per upload; its live ingest settings follow the layered config
const config = structuredClone(layered.current)
layered.onChange(c => { config.ingest = c.ingest })
const log = createLogger({ name: config.name, level: config.logLevel })
layered.setLog(log.child({ component: 'config' }))
// a start refused (token files, credentials required beyond loopback, TLS files): one clear line, exit 1
const cannotStart = (err: Error): never => {
  log.fatal({ err: err.message, error: err.name }, 'cannot start')
  log.flush()
  process.stderr.write(`codio-origin: cannot start: ${err.message}\n`)
  process.exit(1)
}
const origin = await createOrigin(config, log, await readPackageVersion(new URL('../package.json', import.meta.url))).catch(cannotStart)
origin.useConfig(layered)
await origin.start().catch(cannotStart)
onShutdown(() => origin.stop(), { log, trigger: origin.drained })
