import { strykerConfig } from '../../stryker.base.mjs'
// the download (endgame, hedging, bans, FEC repair), against every swarm test (real libp2p: slow)
export default strykerConfig('swarm-download', ['src/download.ts'])
