/**
 * @packageDocumentation
 * Property-based fuzz targets (fast-check) for every parser at a trust boundary. Each asserts:
 * never throws anything but the documented typed error, never takes over SLOW_INPUT_MS on one
 * input, and what it accepts round-trips or is well-formed. Each target's committed inputs
 * (`corpus/<target>/`, `crashes/<target>/`, see corpus.ts) run before any generated one.
 */
import type { Target } from './harness.js'
import { chunkRangeTarget, contentIdTarget, ingestQueryTarget, rangeHeaderTarget } from './targets/http.js'
import { manifestTarget, mediaTypeTarget } from './targets/manifest.js'
import { exchangeMessageTarget, gossipTarget } from './targets/wire.js'
import { configUpdateTarget, requestValidatorTarget, tomlConfigTarget } from './targets/rpc.js'
import { frameReaderTarget, swarmHandshakeTarget } from './targets/stream.js'

export { runTarget, replay, fuzzRuns, fuzzParameters, SLOW_INPUT_MS, type RunResult, type Seed, type Target } from './harness.js'
export { corpusDir, crashDir, decodeInput, encodeInput, readInputs, storeInput } from './corpus.js'

/** Every target, in the order `npm run fuzz` runs them. */
export const targets: Target[] = [
  rangeHeaderTarget, chunkRangeTarget, contentIdTarget, ingestQueryTarget, mediaTypeTarget,
  exchangeMessageTarget, frameReaderTarget, swarmHandshakeTarget, manifestTarget, gossipTarget,
  configUpdateTarget, requestValidatorTarget, tomlConfigTarget
]
