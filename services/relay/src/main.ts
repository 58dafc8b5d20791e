#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { loadConfigOrExit } from '@codio/config'
import { onShutdown, readPackageVersion } from '@codio/service'
import { createLogger } from '@codio/telemetry'
import { relayConfigSchema } from './config.js'
import { createRelay } from './relay.js'

const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' } } })
const config = loadConfigOrExit({ schema: relayConfigSchema, file: values.config, env: process.env })
const log = createLogger({ name: config.name, level: config.logLevel })
const relay = await createRelay(config, log, await readPackageVersion(new URL('../package.json', import.meta.url)))
await relay.start()
onShutdown(() => relay.stop(), { log, trigger: relay.drained })
