import type { ClusterOptions } from '@codio/local-cluster'
import { publish } from './publish.js'

/** What `codio cluster` takes: the supervisor's options but the upload, which is `codio publish`. */
export type ClusterCommandOptions = Omit<ClusterOptions, 'publish'>

/**
 * `codio cluster`: run the local cluster of `@codio/local-cluster` (the supervisor is a tool of
 * the repository, shared with the benchmarks; see its `runCluster`) with the sample uploaded by
 * this CLI's `publish`. The supervisor is loaded on use: it brings libp2p, which the other
 * commands do without.
 *
 * @throws ClusterStartError / ServiceStartError of `@codio/local-cluster` when the cluster cannot start
 */
export async function cluster (options: ClusterCommandOptions): Promise<void> {
  const { runCluster } = await import('@codio/local-cluster')
  await runCluster({
    ...options,
    publish: async (file, origin, signal) => (await publish(file, { origin, quiet: true, signal })).cid
  })
}
