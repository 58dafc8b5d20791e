/** What a secret setting's value reads as in views. */
export const REDACTED = '[redacted]'

const SECRET = /(password|passwd|passphrase|secret|token|credential|apikey|privatekey)s?$/i

/**
 * Whether the setting at a TOML path holds a secret, judged by its last key: a key ending in
 * password, secret, token, credential, apiKey or privateKey (singular or plural: `auth.tokens`,
 * `tracker.natsPassword`) holds an inline secret and is redacted. A key naming where a secret
 * lives — ending in File, Path or Dir (`tracker.natsPasswordFile`, `auth.tokenFile`) — is not a
 * secret: file paths are shown.
 */
export function isSecretPath (path: string): boolean {
  const last = path.slice(path.lastIndexOf('.') + 1).replace(/\[\d+\]$/, '')
  if (/(file|path|dir)s?$/i.test(last)) return false
  return SECRET.test(last)
}
