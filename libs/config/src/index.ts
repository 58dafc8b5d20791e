/**
 * @packageDocumentation
 * Configuration for Codio processes: a TOML file plus `CODIO_*` environment overrides,
 * validated by a Zod schema, with every bad key reported at once; {@link LayeredConfig} adds
 * a fleet-wide `cluster` layer and persisted `runtime` updates on top, with each setting's
 * source and secrets redacted.
 *
 * @example
 * ```ts
 * import { z, byteSize, duration, loadConfigOrExit } from '@codio/config'
 *
 * const schema = z.strictObject({
 *   http: z.strictObject({
 *     port: z.number().int().default(8080),
 *     maxUploadBytes: byteSize.prefault('64MiB')
 *   }).prefault({}),
 *   gossipInterval: duration.prefault('30s')
 * })
 * // CODIO_HTTP__PORT=9000 overrides [http] port = 8081 in the file
 * const config = loadConfigOrExit({ schema, file: argv.config, env: process.env })
 * ```
 */
export { z } from 'zod'
export { ConfigError, RestartRequiredError, type ConfigIssue } from './errors.js'
export { loadConfig, type LoadConfigOptions } from './load-config.js'
export { loadConfigOrExit, loadLayeredConfigOrExit } from './load-config-or-exit.js'
export { formatConfigIssues } from './format-config-issues.js'
export { LayeredConfig, LAYERS, type LayerName, type LayeredConfigOptions, type LayeredConfigView, type LayeredConfigLog, type ConfigListener, type Json } from './layered-config.js'
export { patchConfigDocument, type PatchDocumentOptions } from './patch.js'
export { schemaLeaves } from './leaves.js'
export { isSecretPath, REDACTED } from './redact.js'
export { byteSize, duration, parseByteSize, parseDuration } from './units.js'
