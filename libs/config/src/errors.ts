/** One problem with the configuration. */
export interface ConfigIssue {
  /** dotted path of the setting, e.g. "http.port" or "peers[0].addr"; "" for the whole file */
  path: string
  message: string
  /** where the value came from: the config file path, the env var name, or "overrides" */
  source?: string
}

/**
 * The configuration is invalid. `issues` lists every problem found (TOML syntax, unreadable
 * file, unknown keys, env vars that match no setting, every schema violation), not just the
 * first.
 */
export class ConfigError extends Error {
  override name = 'ConfigError'
  readonly issues: ConfigIssue[]

  constructor (issues: ConfigIssue[], options?: { cause?: unknown }) {
    super(`invalid configuration:\n${issues.map(formatIssue).join('\n')}`, options)
    this.issues = issues
  }
}

/** `  path: message (from source)` */
export function formatIssue (issue: ConfigIssue): string {
  const where = issue.source === undefined ? '' : ` (from ${issue.source})`
  return `  ${issue.path === '' ? '(file)' : issue.path}: ${issue.message}${where}`
}

/**
 * A runtime update names settings that cannot change while the process runs (listeners, data
 * directory, libp2p identity, ...). `keys` lists every such TOML path; nothing was applied.
 * The admin API maps it to FailedPrecondition.
 */
export class RestartRequiredError extends Error {
  override name = 'RestartRequiredError'
  readonly keys: string[]

  constructor (keys: string[]) {
    super(`${keys.length === 1 ? 'this setting needs' : 'these settings need'} a restart to change (edit the config file instead): ${keys.join(', ')}`)
    this.keys = keys
  }
}
