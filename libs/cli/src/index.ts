/**
 * @packageDocumentation
 *
 * The `codio` command line: publish a file to an origin, get content from an
 * edge, generate a publisher key. Each command is also a function, so scripts
 * and tests can call it without a child process; `bin.ts` only parses argv.
 *
 * @example
 * ```ts
 * import { publish, get, resolveEndpoint } from '@codio/cli'
 *
 * const { cid } = await publish('video.mp4', { origin: await resolveEndpoint('origin') })
 * await get(cid, { edge: await resolveEndpoint('edge'), output: 'copy.mp4' })
 * ```
 */

export { publish, type PublishOptions, type PublishResult } from './commands/publish.js'
export { get, type GetOptions, type GetResult } from './commands/get.js'
export { keygen, DEFAULT_KEY_FILE, type KeygenOptions, type KeygenResult } from './commands/keygen.js'
export { token, newToken, TOKEN_BYTES, type TokenOptions, type TokenResult } from './commands/token.js'
export { resolveEndpoint, readClusterFile, contentUrl, CLUSTER_FILE, type ClusterFile, type ClusterProcess, type EndpointKind, type ResolveEndpointOptions } from './endpoints.js'
export { createProgress, type Progress, type ProgressInit } from './progress.js'
export { guessMediaType } from './media-types.js'
export { parseSize } from './format.js'
export * from './errors.js'
