import { byteSize, z } from '@codio/config'
import { fetchConfigSchema, listenerSchema, p2pConfigSchema, trustConfigSchema } from '@codio/peer'

/** The origin's configuration: TOML file + `CODIO_*` environment overrides. */
export const originConfigSchema = z.strictObject({
  /** Process name, carried in logs. */
  name: z.string().default('origin'),
  /** Holds the block store and the peer key. */
  dataDir: z.string().default('.codio/origin'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** The ingest API (`PUT /content`) and health endpoints. */
  http: listenerSchema(7070).default({ host: '127.0.0.1', port: 7070 }),
  admin: listenerSchema(7071).default({ host: '127.0.0.1', port: 7071 }),
  p2p: p2pConfigSchema.default(p2pConfigSchema.parse({})),
  trust: trustConfigSchema.default(trustConfigSchema.parse({})),
  fetch: fetchConfigSchema.default(fetchConfigSchema.parse({})),
  publisher: z.strictObject({
    /** The Ed25519 key (JWK, RFC 8037) manifests are signed with; created if missing. */
    keyFile: z.string().default('.codio/publisher.jwk')
  }).default({ keyFile: '.codio/publisher.jwk' }),
  ingest: z.strictObject({
    /** Largest upload accepted; larger ones get 413. */
    maxUploadBytes: byteSize.default(16 * 1024 ** 3),
    /** Default chunk size; `?chunkSize=` may override per upload. */
    chunkSize: byteSize.default(1024 * 1024)
  }).default({ maxUploadBytes: 16 * 1024 ** 3, chunkSize: 1024 * 1024 })
})

export type OriginConfig = z.infer<typeof originConfigSchema>
