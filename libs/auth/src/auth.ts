import { isIPv4 } from 'node:net'
import { Counter, Registry, type Logger } from '@codio/telemetry'
import { authConfigSchema, type AuthConfig } from './config.js'
import { AuthRequiredError } from './errors.js'
import { TOKEN_SETTING, type Scope } from './scopes.js'
import { TokenSet } from './tokens.js'

/** Why a request was refused: no credentials, credentials that are no valid token, or a token without the scope. */
export type AuthFailure = 'missing' | 'invalid' | 'forbidden'

export type AuthOutcome =
  | { ok: true }
  | { ok: false, reason: AuthFailure, message: string }

export const AUTH_FAILURES_METRIC = 'codio_auth_failures_total'

/** The `WWW-Authenticate` challenge of a refused request (RFC 6750 §3). */
export const BEARER_CHALLENGE = 'Bearer realm="codio"'

/**
 * Whether `host` (a listener's host setting) only accepts connections from this machine:
 * 127.0.0.0/8, ::1 (also IPv4-mapped), `localhost`. `0.0.0.0`, `::` and any other name are not.
 */
export function isLoopback (host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1')
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h
  return isIPv4(v4) && v4.startsWith('127.')
}

/** A listener a {@link Gate} guards. */
export interface ListenerInfo {
  /** What it serves, for messages and logs, e.g. `admin`, `ingest`, `tracker rpc`. */
  name: string
  host: string
  port?: number
  /** The scopes its protected calls need (an empty list: nothing to protect there). */
  scopes: Iterable<Scope>
}

export interface AuthInit {
  /** The `[auth]` table; default: no tokens, `required = "auto"`. */
  config?: Partial<AuthConfig>
  /** Refusals are logged here (never with the token). */
  log: Logger
  /** `codio_auth_failures_total{endpoint,reason}` is registered here (once per registry). */
  registry?: Registry
}

/**
 * A process's credentials: the tokens its `[auth]` table names, read once at start, and the
 * policy deciding which listeners enforce them.
 *
 * @example
 * ```ts
 * const auth = await Auth.load({ config: config.auth, log, registry })
 * const gate = auth.gate({ name: 'admin', host: '0.0.0.0', port: 7071, scopes: ['read', 'admin'] })
 * connectNodeAdapter({ routes, interceptors: [authInterceptor(gate)] })
 * ```
 */
export class Auth {
  /** Warnings already given, by listener: a listener checked twice warns once. */
  private readonly warned = new Set<string>()

  private constructor (readonly tokens: TokenSet, readonly config: AuthConfig, private readonly log: Logger, private readonly failures: Counter<'endpoint' | 'reason'>) {}

  private warnOnce (where: string, fields: object, message: string): void {
    if (this.warned.has(where)) return
    this.warned.add(where)
    this.log.warn(fields, message)
  }

  /** Read the token files. @throws TokenFileError naming a file that cannot be read, is empty or malformed */
  static async load (init: AuthInit): Promise<Auth> {
    const config = authConfigSchema.parse(init.config ?? {})
    return Auth.withTokens(await TokenSet.load(config), init)
  }

  /** An `Auth` over tokens already loaded (the token files of `init.config` are not read). */
  static withTokens (tokens: TokenSet, init: AuthInit): Auth {
    const config = authConfigSchema.parse(init.config ?? {})
    const registry = init.registry ?? new Registry()
    const existing = registry.getSingleMetric(AUTH_FAILURES_METRIC) as Counter<'endpoint' | 'reason'> | undefined
    const failures = existing ?? new Counter({
      name: AUTH_FAILURES_METRIC,
      help: 'Requests refused for credentials, by endpoint and reason (missing, invalid, forbidden)',
      labelNames: ['endpoint', 'reason'],
      registers: [registry]
    })
    return new Auth(tokens, config, init.log, failures)
  }

  /**
   * The gate of one listener. Credentials are enforced there when tokens are configured, or
   * when they are required: `required = "always"`, or `"auto"` and a host beyond loopback.
   *
   * @throws AuthRequiredError when they are required and some scope the listener needs can be
   *   granted by no configured token; the message names the settings to add
   */
  gate (listener: ListenerInfo): Gate {
    const where = `${listener.name} listener on ${listener.host}${listener.port == null ? '' : `:${listener.port}`}`
    const scopes = [...new Set(listener.scopes)]
    if (this.config.required === 'never') {
      if (scopes.length > 0) this.warnOnce(where, { listener: listener.name, host: listener.host }, `credentials disabled (auth.required = "never"): whoever reaches the ${where} can call it`)
      return new Gate(false, this.tokens, listener.name, this.log, this.failures)
    }
    const required = scopes.length > 0 && (this.config.required === 'always' || !isLoopback(listener.host))
    const unsatisfied = scopes.filter(s => !this.tokens.canGrant(s))
    if (required && unsatisfied.length > 0) {
      const why = this.config.required === 'always' ? 'auth.required = "always"' : 'it is reachable beyond loopback'
      // an admin or node token also reads: ask for read tokens only when nothing else would do
      const readCovered = unsatisfied.includes('admin') || unsatisfied.includes('node')
      const needed = unsatisfied.filter(s => s !== 'read' || !readCovered)
      const settings = needed.map(s => s === 'read'
        ? `${TOKEN_SETTING.read} (or ${TOKEN_SETTING.admin} / ${TOKEN_SETTING.node}, whose tokens also read)`
        : TOKEN_SETTING[s])
      throw new AuthRequiredError(`the ${where} needs credentials (${why}) and no configured token grants ${unsatisfied.join(', ')}: ` +
        `set ${settings.join(' and ')} to token files${readCovered && unsatisfied.includes('read') ? ` (${TOKEN_SETTING.read} for tokens that may only read)` : ''} ` +
        `(e.g. CODIO_AUTH__${envName(TOKEN_SETTING[needed[0]])}='["/etc/codio/tokens/${needed[0]}"]'; \`codio token -o FILE\` makes one), ` +
        'or set auth.required = "never" to serve it without credentials')
    }
    const enforced = required || this.tokens.size > 0
    if (enforced && unsatisfied.length > 0) {
      this.warnOnce(where, { listener: listener.name, scopes: unsatisfied }, `no configured token grants ${unsatisfied.join(', ')}: those calls on the ${where} will all be refused`)
    }
    return new Gate(enforced, this.tokens, listener.name, this.log, this.failures)
  }
}

const envName = (setting: string): string => setting.slice('auth.'.length).replace(/[A-Z]/g, c => `_${c}`).toUpperCase()

/** Checks the credentials of requests arriving at one listener. */
export class Gate {
  constructor (
    /** Whether requests must carry a token (false: every request passes). */
    readonly enforced: boolean,
    private readonly tokens: TokenSet,
    readonly listener: string,
    private readonly log: Logger,
    private readonly failures: Counter<'endpoint' | 'reason'>
  ) {}

  /**
   * Whether a request whose `Authorization` header is `authorization` may call `endpoint`,
   * which needs `scope`. A refusal is counted in `codio_auth_failures_total{endpoint,reason}`
   * and logged (endpoint, reason, `remote` when given; never the token).
   */
  authorize (authorization: string | null | undefined, scope: Scope, endpoint: string, remote?: string): AuthOutcome {
    if (!this.enforced) return { ok: true }
    const outcome = this.check(authorization, scope)
    if (!outcome.ok) {
      this.failures.inc({ endpoint, reason: outcome.reason })
      this.log.warn({ listener: this.listener, endpoint, reason: outcome.reason, scope, ...(remote == null ? {} : { remote }) }, `request refused: ${outcome.message}`)
    }
    return outcome
  }

  private check (authorization: string | null | undefined, scope: Scope): AuthOutcome {
    if (authorization == null || authorization.trim() === '') return { ok: false, reason: 'missing', message: 'a bearer token is required (Authorization: Bearer <token>)' }
    const m = /^Bearer +(\S+) *$/i.exec(authorization)
    if (m == null) return { ok: false, reason: 'invalid', message: 'the Authorization header is not "Bearer <token>"' }
    const granted = this.tokens.scopesOf(m[1])
    if (granted.size === 0) return { ok: false, reason: 'invalid', message: 'invalid bearer token' }
    if (!granted.has(scope)) return { ok: false, reason: 'forbidden', message: `this call needs the ${scope} scope; the token grants ${[...granted].join(', ')}` }
    return { ok: true }
  }
}
