import { z } from '@codio/config'
import { fetchConfigSchema, listenerSchema, p2pConfigSchema, trustConfigSchema } from '@codio/peer'

/** The edge's configuration: TOML file + `CODIO_*` environment overrides. */
export const edgeConfigSchema = z.strictObject({
  name: z.string().default('edge'),
  dataDir: z.string().default('.codio/edge'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** The public HTTP front (`GET`/`HEAD /content/<cid>`). */
  http: listenerSchema(8080).default({ host: '127.0.0.1', port: 8080 }),
  admin: listenerSchema(8081).default({ host: '127.0.0.1', port: 8081 }),
  p2p: p2pConfigSchema.default(p2pConfigSchema.parse({})),
  trust: trustConfigSchema.default(trustConfigSchema.parse({})),
  fetch: fetchConfigSchema.default(fetchConfigSchema.parse({}))
})

export type EdgeConfig = z.infer<typeof edgeConfigSchema>
