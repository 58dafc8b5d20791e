import { byteSize, z } from '@codio/config'
import { DEFAULT_DATA_SHARDS, DEFAULT_PARITY_SHARDS, parseFecSpec } from '@codio/fec'
import { listenerSchema, peerServiceConfig } from './peer-config.js'

// The role schemas of edge, relay and origin (moved here from services/*/src/config.ts, which
// re-export them): the tracker validates a role's cluster config document with them.

/** The edge's configuration: TOML file + `CODIO_*` environment overrides. */
export const edgeConfigSchema = z.strictObject({
  ...peerServiceConfig('edge', 8080, 8081),
  http: listenerSchema(8080).extend({
    /**
     * One structured log line per content request (pino, `component: "access"`): method, path,
     * status, bytes, duration in ms, cache hit/miss, trace ID. Off by default (and in tests);
     * `CODIO_HTTP__ACCESS_LOG=true` turns it on.
     */
    accessLog: z.boolean().default(false)
  }).default({ host: '127.0.0.1', port: 8080, accessLog: false })
})

export type EdgeConfig = z.infer<typeof edgeConfigSchema>

/** The relay's configuration: TOML file + `CODIO_*` environment overrides. */
export const relayConfigSchema = z.strictObject({
  ...peerServiceConfig('relay', 7080, 7081),
  /** Content IDs to fetch and provide at start (the admin Prefetch call does it at run time). */
  prefetch: z.array(z.string()).default([])
})

export type RelayConfig = z.infer<typeof relayConfigSchema>

const DEFAULT_FEC = `${DEFAULT_DATA_SHARDS}+${DEFAULT_PARITY_SHARDS}`

/** `"k+m"` or `"none"`, checked as the config loads. */
const fecSpec = z.string().superRefine((s, ctx) => {
  try {
    parseFecSpec(s)
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message })
  }
})

/** The origin's configuration: TOML file + `CODIO_*` environment overrides. */
export const originConfigSchema = z.strictObject({
  ...peerServiceConfig('origin', 7070, 7071),
  publisher: z.strictObject({
    /** The Ed25519 key (JWK, RFC 8037) manifests are signed with; created if missing. */
    keyFile: z.string().default('.codio/publisher.jwk')
  }).default({ keyFile: '.codio/publisher.jwk' }),
  ingest: z.strictObject({
    /** Largest upload accepted; larger ones get 413. */
    maxUploadBytes: byteSize.default(16 * 1024 ** 3),
    /** Default chunk size; `?chunkSize=` may override per upload. */
    chunkSize: byteSize.default(1024 * 1024),
    /**
     * Default Reed-Solomon protection, `"k+m"` (k data chunks, m parity chunks per group) or
     * `"none"`; `?fec=` may override per upload.
     */
    fec: fecSpec.default(DEFAULT_FEC)
  }).default({ maxUploadBytes: 16 * 1024 ** 3, chunkSize: 1024 * 1024, fec: DEFAULT_FEC })
})

export type OriginConfig = z.infer<typeof originConfigSchema>

/** The peer roles whose configuration a cluster document may carry. */
export type NodeRole = 'edge' | 'relay' | 'origin'

/** Each peer role's full configuration schema, by role name. */
export const roleConfigSchemas = {
  edge: edgeConfigSchema,
  relay: relayConfigSchema,
  origin: originConfigSchema
} as const
