/** Upload and download policy of one node (config `[swarm]`). */
export interface SwarmPolicy {
  /** Upload limit over all peers, bytes/s; 0 = unlimited. */
  maxUploadRate: number
  /** Download limit over all downloads, bytes/s; 0 = unlimited. */
  maxDownloadRate: number
  /** Tit-for-tat: refuse chunk requests (CHOKED) from peers not unchoked. */
  choking: boolean
  regularUnchokeSlots: number
  optimisticUnchokeSlots: number
  /** ms */
  unchokeInterval: number
  /** ms */
  optimisticUnchokeInterval: number
  /**
   * Super-seed (BEP 16) the contents held whole and not being fetched: peers see chunks
   * revealed a few at a time, the least spread first, so each leaves this node about once.
   */
  superSeeding: boolean
  /**
   * A super-seed's upload budget in copies of the content, ≥ 1 (SuperSeeder `maxCopies`): 1
   * sends each chunk once unless its holders leave; more buys time for seed upload.
   */
  superSeedCopies: number
  /**
   * How long a peer gets nothing from anyone else before a super-seed feeds it like a plain
   * seed (SuperSeeder `isolationMs`, ms; default DEFAULT_SUPER_SEED_ISOLATION_MS). Not a
   * configuration key: a tuning and test hook.
   */
  superSeedIsolationMs?: number
  /**
   * Peer exchange (BEP 11): name each session peer the other peers of the content's swarm, and
   * open sessions with the peers they name while fetching it.
   */
  peerExchange: boolean
}

/** The {@link SwarmPolicy} fields `SwarmHost.reconfigure` changes on a running node. */
export const LIVE_SWARM_POLICY_KEYS = ['maxUploadRate', 'maxDownloadRate', 'regularUnchokeSlots', 'optimisticUnchokeSlots', 'unchokeInterval', 'optimisticUnchokeInterval'] as const
export type LiveSwarmPolicyKey = typeof LIVE_SWARM_POLICY_KEYS[number]

/** The swarm policy when a service sets none: no rate limits, BEP 3 choking with 4 + 1 slots. */
export const DEFAULT_SWARM_POLICY: SwarmPolicy = {
  maxUploadRate: 0,
  maxDownloadRate: 0,
  choking: true,
  regularUnchokeSlots: 4,
  optimisticUnchokeSlots: 1,
  unchokeInterval: 10_000,
  optimisticUnchokeInterval: 30_000,
  superSeeding: false,
  // the origin budget the swarm benchmark is held to (1.5·F): once every chunk is out, the
  // origin spends half a copy on the least spread chunks instead of idling (bench:swarm)
  superSeedCopies: 1.5,
  peerExchange: true
}
