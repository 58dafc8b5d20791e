// The schema lives in @codio/node-config (the tracker validates cluster documents with it).
export { relayConfigSchema, type RelayConfig } from '@codio/node-config'
