import { strykerConfig } from '../../stryker.base.mjs'
// the download (conductor, dispatcher, endgame and hedging, bans, FEC repair, stall timer),
// against the swarm tests that run downloads (slow: over 2 h on 2 cores; a
// mutant that stalls a download is a timeout, i.e. detected). STRYKER_DOWNLOAD_FILES=dispatcher,endgame
// mutates only those files of src/, into reports/mutation/swarm-download-<files>.json: a run in
// parts, each short enough to finish between other work on a shared machine
const DOWNLOAD_FILES = ['download', 'download-init', 'blocks', 'peers', 'dispatcher', 'endgame', 'fec-repair', 'stall', 'progress']
const only = process.env.STRYKER_DOWNLOAD_FILES?.split(',').map(f => f.trim()).filter(f => f !== '')
export default strykerConfig(only == null ? 'swarm-download' : `swarm-download-${only.join('-')}`, (only ?? DOWNLOAD_FILES).map(f => `src/${f}.ts`),
  ['test/dispatcher.test.ts', 'test/download.test.ts', 'test/download-api.test.ts', 'test/download-schedule.test.ts', 'test/fec-repair.test.ts', 'test/hedge.test.ts', 'test/hostile-peers.test.ts', 'test/swarm.test.ts', 'test/relay.test.ts'])
