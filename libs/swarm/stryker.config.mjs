import { strykerConfig } from '../../stryker.base.mjs'
// the swarm engine: rarest-first picking, the download (endgame, hedging, bans, FEC repair), super-seeding, bitfields
export default strykerConfig('swarm', ['src/picker.ts', 'src/download.ts', 'src/super-seed.ts', 'src/bitfield.ts'])
