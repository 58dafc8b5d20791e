import { strykerConfig } from '../../stryker.base.mjs'
export default strykerConfig('choker', ['src/choker.ts', 'src/rank.ts'])
