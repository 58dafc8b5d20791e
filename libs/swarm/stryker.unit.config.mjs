import { strykerConfig } from '../../stryker.base.mjs'
// rarest-first picking, super-seeding and bitfields, against their own unit tests (fast)
export default strykerConfig('swarm-engine', ['src/picker.ts', 'src/super-seed.ts', 'src/bitfield.ts'],
  ['test/picker.test.ts', 'test/super-seed.test.ts', 'test/bitfield.test.ts'])
