/**
 * @packageDocumentation
 * The Codio relay: DHT server and bootstrap peer; caches and re-serves content it prefetches.
 *
 * @example
 * ```ts
 * import { createRelay, relayConfigSchema } from '@codio/relay'
 * const relay = await createRelay(relayConfigSchema.parse({ p2p: { listen: ['/ip4/0.0.0.0/tcp/4001'] } }), log, '0.1.0')
 * await relay.start()
 * ```
 */
export { createRelay, type Relay } from './relay.js'
export { relayConfigSchema, type RelayConfig } from './config.js'
