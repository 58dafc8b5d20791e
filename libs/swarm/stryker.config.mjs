import { strykerConfig } from '../../stryker.base.mjs'
// the download (endgame, hedging, bans, FEC repair), against the swarm tests that run downloads
// over real libp2p (slow: 1,003 mutants, about 1 h 30 min with STRYKER_CONCURRENCY=4 on 2 cores;
// a mutant that stalls a download is a timeout, i.e. detected)
export default strykerConfig('swarm-download', ['src/download.ts'],
  ['test/download.test.ts', 'test/fec-repair.test.ts', 'test/hedge.test.ts', 'test/hostile-peers.test.ts', 'test/swarm.test.ts', 'test/relay.test.ts'])
