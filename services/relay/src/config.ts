import { z } from '@codio/config'
import { fetchConfigSchema, listenerSchema, p2pConfigSchema, trustConfigSchema } from '@codio/peer'

/** The relay's configuration: TOML file + `CODIO_*` environment overrides. */
export const relayConfigSchema = z.strictObject({
  name: z.string().default('relay'),
  dataDir: z.string().default('.codio/relay'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Health, readiness and metrics. */
  http: listenerSchema(7080).default({ host: '127.0.0.1', port: 7080 }),
  admin: listenerSchema(7081).default({ host: '127.0.0.1', port: 7081 }),
  p2p: p2pConfigSchema.default(p2pConfigSchema.parse({})),
  trust: trustConfigSchema.default(trustConfigSchema.parse({})),
  fetch: fetchConfigSchema.default(fetchConfigSchema.parse({})),
  /** Content IDs to fetch and provide at start (the admin Prefetch call does it at run time). */
  prefetch: z.array(z.string()).default([])
})

export type RelayConfig = z.infer<typeof relayConfigSchema>
