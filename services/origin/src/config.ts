import { byteSize, z } from '@codio/config'
import { DEFAULT_DATA_SHARDS, DEFAULT_PARITY_SHARDS, parseFecSpec } from '@codio/fec'

const DEFAULT_FEC = `${DEFAULT_DATA_SHARDS}+${DEFAULT_PARITY_SHARDS}`

/** `"k+m"` or `"none"`, checked as the config loads. */
const fecSpec = z.string().superRefine((s, ctx) => {
  try {
    parseFecSpec(s)
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message })
  }
})
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
    chunkSize: byteSize.default(1024 * 1024),
    /**
     * Default Reed-Solomon protection, `"k+m"` (k data chunks, m parity chunks per group) or
     * `"none"`; `?fec=` may override per upload.
     */
    fec: fecSpec.default(DEFAULT_FEC)
  }).default({ maxUploadBytes: 16 * 1024 ** 3, chunkSize: 1024 * 1024, fec: DEFAULT_FEC })
})

export type OriginConfig = z.infer<typeof originConfigSchema>
