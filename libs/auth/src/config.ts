import { z } from '@codio/config'

const files = z.array(z.string().min(1)).default([])

/**
 * The `[auth]` table of a process's TOML file. Each `*TokenFiles` setting lists files (e.g.
 * mounted Kubernetes Secrets) of one line per token; every token of every file is valid, so a
 * rotation adds the new token, rolls the clients, then drops the old one.
 */
export const authConfigSchema = z.strictObject({
  /** Tokens that may read (`Get*`/`List*` calls, TrackerService). */
  readTokenFiles: files,
  /** Tokens that may make every admin call (and read). */
  adminTokenFiles: files,
  /** Tokens that may publish (the origin's `PUT /content`). */
  publishTokenFiles: files,
  /** Tokens nodes carry to the tracker (and that may read). */
  nodeTokenFiles: files,
  /**
   * `"auto"`: credentials are required on listeners beyond loopback (127.0.0.0/8, ::1,
   * localhost); `"always"`: on every listener; `"never"`: nowhere (logged as a warning).
   * Configured tokens are enforced on every listener unless `"never"`.
   */
  required: z.enum(['auto', 'always', 'never']).default('auto')
})

export type AuthConfig = z.infer<typeof authConfigSchema>

/** `tls = { certFile, keyFile }` of a listener: PEM files; the listener then speaks HTTPS. */
export const tlsConfigSchema = z.strictObject({
  /** PEM certificate chain, leaf first. */
  certFile: z.string().min(1),
  /** PEM private key of the leaf certificate. */
  keyFile: z.string().min(1)
})

export type TlsConfig = z.infer<typeof tlsConfigSchema>
