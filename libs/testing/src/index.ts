/**
 * Test helpers shared by every Codio package: waiting for a condition, and a seeded PRNG.
 * Tests wait for a condition, never for a fixed
 * time: a sleep is either too short on a loaded machine (a flaky test) or too long everywhere
 * else (a slow suite).
 *
 * @example
 * import { until } from '@codio/testing'
 * await until(() => node.getConnections().length > 0, 10_000, 'the node to connect')
 */
export { until, TimeoutError } from './until.js'
export { seeded } from './seeded.js'
export { postBody, type Probe } from './post.js'
