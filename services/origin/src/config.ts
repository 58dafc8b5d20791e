import { byteSize, z } from '@codio/config'
import { peerServiceConfig } from '@codio/peer'

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
    chunkSize: byteSize.default(1024 * 1024)
  }).default({ maxUploadBytes: 16 * 1024 ** 3, chunkSize: 1024 * 1024 })
})

export type OriginConfig = z.infer<typeof originConfigSchema>
