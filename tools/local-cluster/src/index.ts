/**
 * @packageDocumentation
 *
 * The local-cluster supervisor behind `codio cluster` and `npm start`: NATS, Redis and the
 * tracker, relays, one origin and edges as OS processes on loopback, each from its service's
 * built `dist/main.js` with a generated config, keys and stores under one state directory;
 * readiness on `/readyz`, `cluster.json` for the `codio` commands, a sample published at the
 * origin, and every process stopped at the end. Processes are started through
 * `spawnService` (also `@codio/local-cluster/process`, which the benchmarks use) and ports
 * come from `freePort` / `freeUdpPort` of `@codio/sidecars`.
 *
 * @example
 * ```ts
 * import { startCluster } from '@codio/local-cluster'
 *
 * const cluster = await startCluster({ dir: '/tmp/c/.codio', edges: 1, relays: 1, tracker: false })
 * try {
 *   const edge = cluster.file.processes.find(p => p.role === 'edge')!
 *   await fetch(`${edge.http}/readyz`)
 * } finally {
 *   await cluster.stop()
 * }
 * ```
 */
export { runCluster, type ClusterOptions } from './run-cluster.js'
export { startCluster, type ClusterInit, type LocalCluster } from './start-cluster.js'
export { publishSample, type PublishFile } from './sample.js'
export { planCluster, type ClusterPlan, type PlannedNode } from './plan.js'
export { writeClusterFile, type ClusterFile, type ClusterProcess, type ClusterTracker } from './cluster-file.js'
export { defaultServicesDir, serviceMain, type ServiceRole } from './services.js'
export { ClusterStartError } from './errors.js'
export * from './process/index.js'
