import { formatIssue, type ConfigError } from './errors.js'

/**
 * One line per issue, `  http.port: Invalid input: expected number, received string (from
 * CODIO_HTTP__PORT)`, naming the file or env var a value came from when known; file-level
 * problems show `(file)` as their path.
 */
export function formatConfigIssues (err: ConfigError): string {
  return err.issues.map(formatIssue).join('\n')
}
