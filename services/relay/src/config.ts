import { z } from '@codio/config'
import { peerServiceConfig } from '@codio/peer'

/** The relay's configuration: TOML file + `CODIO_*` environment overrides. */
export const relayConfigSchema = z.strictObject({
  ...peerServiceConfig('relay', 7080, 7081),
  /** Content IDs to fetch and provide at start (the admin Prefetch call does it at run time). */
  prefetch: z.array(z.string()).default([])
})

export type RelayConfig = z.infer<typeof relayConfigSchema>
