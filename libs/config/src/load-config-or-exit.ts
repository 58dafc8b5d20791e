import type { z } from 'zod'
import { ConfigError } from './errors.js'
import { formatConfigIssues } from './format-config-issues.js'
import { LayeredConfig, type LayeredConfigOptions } from './layered-config.js'
import { loadConfig, type LoadConfigOptions } from './load-config.js'

/**
 * {@link loadConfig} for a service's `main`: on a ConfigError it writes
 * `invalid configuration:` and every issue to stderr and exits with status 1. Other errors
 * propagate.
 */
export function loadConfigOrExit<S extends z.ZodType> (opts: LoadConfigOptions<S>): z.infer<S> {
  return orExit(() => loadConfig(opts))
}

/** {@link LayeredConfig.load} for a service's `main`, exiting 1 on a ConfigError as {@link loadConfigOrExit} does. */
export function loadLayeredConfigOrExit<S extends z.ZodType> (opts: LayeredConfigOptions<S>): LayeredConfig<S> {
  return orExit(() => LayeredConfig.load(opts))
}

function orExit<T> (load: () => T): T {
  try {
    return load()
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    process.stderr.write(`invalid configuration:\n${formatConfigIssues(err)}\n`)
    return process.exit(1)
  }
}
