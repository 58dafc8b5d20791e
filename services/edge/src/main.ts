#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { loadConfigOrExit } from '@codio/config'
import { onShutdown, readPackageVersion } from '@codio/service'
import { createLogger } from '@codio/telemetry'
import { edgeConfigSchema } from './config.js'
import { createEdge } from './edge.js'

const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' } } })
const config = loadConfigOrExit({ schema: edgeConfigSchema, file: values.config, env: process.env })
const log = createLogger({ name: config.name, level: config.logLevel })
const edge = await createEdge(config, log, await readPackageVersion(new URL('../package.json', import.meta.url)))
await edge.start()
onShutdown(() => edge.stop(), { log, trigger: edge.drained })
