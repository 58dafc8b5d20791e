import { strykerConfig } from '../../stryker.base.mjs'
// FEC planning: group layout, code parameters and limits, the rebuild plan, the encoder
export default strykerConfig('fec', ['src/layout.ts', 'src/params.ts', 'src/plan.ts', 'src/encoder.ts'])
