import { z } from '@codio/config'
import { peerServiceConfig } from '@codio/peer'

/** The edge's configuration: TOML file + `CODIO_*` environment overrides. */
export const edgeConfigSchema = z.strictObject(peerServiceConfig('edge', 8080, 8081))

export type EdgeConfig = z.infer<typeof edgeConfigSchema>
