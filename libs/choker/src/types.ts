/** A connected peer as the choker sees it. */
export interface ChokerPeer {
  /** Peer ID string. */
  id: string
  /** The peer wants pieces we have (BEP 3 `interested`). */
  interested: boolean
  /** When the connection was made (ms, on the choker's clock). */
  connectedAt: number
  /** Bytes/s we receive from the peer (rolling average, e.g. `PeerRates.down`). */
  downloadRate: number
  /** Bytes/s we send to the peer (rolling average, e.g. `PeerRates.up`). */
  uploadRate: number
}

export interface ChokerOptions {
  /** Peers unchoked for their rate (tit-for-tat). Default 4. */
  regularSlots?: number
  /** Peers unchoked at random on top. Default 1. */
  optimisticSlots?: number
  /** Period of {@link Choker.start}'s recompute (ms). Default 10 000. */
  unchokeIntervalMs?: number
  /** Period of the optimistic rotation (ms). Default 30 000. */
  optimisticIntervalMs?: number
  /** Peers connected less than this (ms) are 3× as likely to get an optimistic slot. Default 60 000. */
  newPeerMs?: number
  /** Clock in ms, the one `connectedAt` is on. Default `Date.now()`. */
  now?: () => number
  /** Uniform [0, 1) source for tie-breaks and the optimistic draw. Default `Math.random`. */
  random?: () => number
  /** Called with an error thrown by the `source` or `onChange` of {@link Choker.start}; the timer carries on. */
  onError?: (err: unknown) => void
}

/** The outcome of a recompute. Sets are the caller's own copies. */
export interface ChokeDecision {
  /** Every peer to unchoke: the regular slots and the optimistic ones. */
  unchoked: Set<string>
  /** The optimistic unchokes (a subset of `unchoked`). */
  optimistic: Set<string>
  /** `unchoked` differs from the previous decision's, i.e. some choke/unchoke must be sent. */
  changed: boolean
}
