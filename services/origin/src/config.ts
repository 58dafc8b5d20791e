// The schema lives in @codio/node-config (the tracker validates cluster documents with it).
export { originConfigSchema, type OriginConfig } from '@codio/node-config'
