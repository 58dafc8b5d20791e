/**
 * @packageDocumentation
 * Property-based fuzz targets (fast-check) for every parser at a trust boundary. Each asserts:
 * never throws anything but the documented typed error, never takes over SLOW_INPUT_MS on one
 * input, and what it accepts round-trips or is well-formed.
 */
import type { Target } from './harness.js'
import { chunkRangeTarget, contentIdTarget, ingestQueryTarget, rangeHeaderTarget } from './targets/http.js'
import { manifestTarget, mediaTypeTarget } from './targets/manifest.js'
import { exchangeMessageTarget, gossipTarget } from './targets/wire.js'
import { configUpdateTarget, requestValidatorTarget, tomlConfigTarget } from './targets/rpc.js'

export { runTarget, fuzzRuns, fuzzParameters, SLOW_INPUT_MS, type Target } from './harness.js'

/** Every target, in the order `npm run fuzz` runs them. */
export const targets: Target[] = [
  rangeHeaderTarget, chunkRangeTarget, contentIdTarget, ingestQueryTarget, mediaTypeTarget,
  exchangeMessageTarget, manifestTarget, gossipTarget,
  configUpdateTarget, requestValidatorTarget, tomlConfigTarget
]
