/**
 * @packageDocumentation
 * Who may call a Codio control endpoint: bearer tokens from files (Kubernetes Secrets) with
 * scopes (`read`, `admin` ⊇ read, `publish`, `node` ⊇ read), compared in constant time; the
 * policy that requires them on every listener beyond loopback; a ConnectRPC interceptor and a
 * Fastify hook that refuse with `unauthenticated` / 401 or `permission_denied` / 403, count
 * (`codio_auth_failures_total{endpoint,reason}`) and log (never the token); TLS files for a
 * listener.
 *
 * @example
 * ```ts
 * import { Auth, authInterceptor, requireScope, scopesOfRoutes } from '@codio/auth'
 * const auth = await Auth.load({ config: config.auth, log, registry })   // [auth] table
 * const gate = auth.gate({ name: 'admin', host: config.admin.host, scopes: scopesOfRoutes(routes) })
 * http.createServer(connectNodeAdapter({ routes, interceptors: [authInterceptor(gate)] }))
 * app.put('/content', { onRequest: requireScope(auth.gate({ name: 'ingest', host, scopes: ['publish'] }), 'publish') }, ingest)
 * ```
 */
export { Auth, Gate, isLoopback, AUTH_FAILURES_METRIC, BEARER_CHALLENGE, type AuthFailure, type AuthInit, type AuthOutcome, type ListenerInfo } from './auth.js'
export { authConfigSchema, tlsConfigSchema, type AuthConfig, type TlsConfig } from './config.js'
export { authInterceptor, bearerInterceptor, callCheck, scopesOfRoutes, type CallCheck, type ScopeOf } from './connect.js'
export { requireScope } from './fastify.js'
export { AuthRequiredError, TlsConfigError, TokenFileError } from './errors.js'
export { GRANTS, SCOPES, TOKEN_SETTING, scopeOfMethod, type Scope } from './scopes.js'
export { MIN_TOKEN_LENGTH, TokenSet, parseTokens, readClientToken, readClientTokenSync, readTokens } from './tokens.js'
export { loadTls } from './tls.js'
