/**
 * @packageDocumentation
 * The one way Codio's tools start a Node service process: the local-cluster supervisor and the
 * benchmarks. `spawnService` runs a script with `SERVICE_NODE_FLAGS` (as the images do), its
 * output to a log file or kept in memory; `ready` waits on a check (`httpReady` for `/readyz`,
 * `outputReady` for a line it prints); `stop` sends SIGTERM, then SIGKILL. A process still
 * running when this one exits is killed, so none is left behind. This entry point loads no
 * libp2p: `import … from '@codio/local-cluster/process'`.
 *
 * @example
 * ```ts
 * import { httpReady, spawnService } from '@codio/local-cluster/process'
 * const edge = spawnService({ name: 'edge-1', script: 'services/edge/dist/main.js', args: ['--config', 'edge.toml'], output: { file: 'edge-1.log' } })
 * try {
 *   await edge.ready(httpReady('http://127.0.0.1:8080/readyz'), { timeoutMs: 30_000 })
 *   // ... use it ...
 * } finally {
 *   await edge.stop()
 * }
 * ```
 */
export { spawnService, type ServiceInit, type ServiceOutput, type ServiceExit, type ServiceProcess, type ReadyOptions } from './spawn-service.js'
export { httpReady, outputReady, type ReadyCheck } from './readiness.js'
export { ServiceStartError } from '../errors.js'
export { SERVICE_NODE_FLAGS } from '@codio/sidecars'
