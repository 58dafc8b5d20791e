import { join } from 'node:path'
import { loadLayeredConfigOrExit, LayeredConfig, type LayeredConfigOptions } from '@codio/config'
import { ACCUMULATED_KEYS, isLiveKey } from './live-keys.js'
import { roleConfigSchemas, type NodeRole } from './roles.js'

/** The file in a node's data directory where its runtime configuration changes persist. */
export const RUNTIME_CONFIG_FILE = 'runtime-config.json'

export interface NodeConfigOptions {
  /** the TOML file */
  file?: string
  /** default `process.env` */
  env?: Record<string, string | undefined>
}

/**
 * The {@link LayeredConfig} options of a peer role: its schema, its live keys, the trust lists
 * that add up over the layers, and runtime changes persisted in
 * `<dataDir>/runtime-config.json`.
 */
export function nodeConfigOptions<R extends NodeRole> (role: R, opts: NodeConfigOptions = {}): LayeredConfigOptions<typeof roleConfigSchemas[R]> {
  return {
    schema: roleConfigSchemas[role],
    file: opts.file,
    env: opts.env,
    runtimeFile: (base: { dataDir: string }) => join(base.dataDir, RUNTIME_CONFIG_FILE),
    isLive: path => isLiveKey(role, path),
    accumulate: ACCUMULATED_KEYS
  }
}

/**
 * A peer role's layered configuration (defaults, file, environment, cluster, runtime; see
 * {@link nodeConfigOptions}).
 *
 * @throws ConfigError listing every problem of the file and the environment
 */
export function loadNodeConfig<R extends NodeRole> (role: R, opts: NodeConfigOptions = {}): LayeredConfig<typeof roleConfigSchemas[R]> {
  return LayeredConfig.load(nodeConfigOptions(role, opts))
}

/** {@link loadNodeConfig} for a service's `main`: every issue to stderr and exit 1 on a ConfigError. */
export function loadNodeConfigOrExit<R extends NodeRole> (role: R, opts: NodeConfigOptions = {}): LayeredConfig<typeof roleConfigSchemas[R]> {
  return loadLayeredConfigOrExit(nodeConfigOptions(role, opts))
}
