import { strykerConfig } from '../../stryker.base.mjs'
// the download (endgame, hedging, bans, FEC repair), against the swarm tests that run downloads
// over real libp2p (slow: 1,005 mutants, over 2 h on 2 cores; a mutant that stalls a
// download is a timeout, i.e. detected). STRYKER_DOWNLOAD_LINES=1-443 (444-666, 667-861) mutates only
// those lines, into reports/mutation/swarm-download-<lines>.json: a run in parts, each
// short enough to finish between other work on a shared machine
const lines = process.env.STRYKER_DOWNLOAD_LINES
export default strykerConfig(lines == null ? 'swarm-download' : `swarm-download-${lines}`, [lines == null ? 'src/download.ts' : `src/download.ts:${lines}`],
  ['test/download.test.ts', 'test/download-api.test.ts', 'test/download-schedule.test.ts', 'test/fec-repair.test.ts', 'test/hedge.test.ts', 'test/hostile-peers.test.ts', 'test/swarm.test.ts', 'test/relay.test.ts'])
