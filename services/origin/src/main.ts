#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { loadConfigOrExit } from '@codio/config'
import { onShutdown, readPackageVersion } from '@codio/service'
import { createLogger } from '@codio/telemetry'
import { originConfigSchema } from './config.js'
import { createOrigin } from './origin.js'

const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' } } })
const config = loadConfigOrExit({ schema: originConfigSchema, file: values.config, env: process.env })
const log = createLogger({ name: config.name, level: config.logLevel })
const origin = await createOrigin(config, log, await readPackageVersion(new URL('../package.json', import.meta.url)))
await origin.start()
onShutdown(() => origin.stop(), { log, trigger: origin.drained })
