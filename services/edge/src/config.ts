// The schema lives in @codio/node-config (the tracker validates cluster documents with it).
export { edgeConfigSchema, type EdgeConfig } from '@codio/node-config'
