import { Code, ConnectError, createConnectRouter, type ConnectRouter, type Interceptor } from '@connectrpc/connect'
import { BEARER_CHALLENGE, type Gate } from './auth.js'
import { scopeOfMethod, type Scope } from './scopes.js'

/** Maps a method (service type name, method name as in the .proto) to the scope it needs. */
export type ScopeOf = (typeName: string, method: string) => Scope

/**
 * The credential check of one call, from its request headers alone: nothing of the body is
 * needed, so a listener can run it before reading the body (see `connectHandler`'s
 * `precheck`) and an unauthenticated client cannot make the server read or decode a byte of
 * its message. Throws `unauthenticated` for a missing or wrong token (with
 * `WWW-Authenticate: Bearer realm="codio"`), `permission_denied` for a valid token without
 * the method's scope ({@link scopeOfMethod} by default).
 */
export type CallCheck = (header: Headers, typeName: string, method: string) => void

/** The {@link CallCheck} of `gate`. */
export function callCheck (gate: Gate, scopeOf: ScopeOf = scopeOfMethod): CallCheck {
  return (header, typeName, method) => {
    const outcome = gate.authorize(header.get('authorization'), scopeOf(typeName, method), `${typeName}/${method}`)
    if (outcome.ok) return
    if (outcome.reason === 'forbidden') throw new ConnectError(outcome.message, Code.PermissionDenied)
    throw new ConnectError(outcome.message, Code.Unauthenticated, { 'www-authenticate': BEARER_CHALLENGE })
  }
}

/**
 * A ConnectRPC server interceptor (`connectNodeAdapter({ routes, interceptors: [...] })`) that
 * lets a call through only with a bearer token granting its method's scope (the
 * {@link callCheck} of `gate`). Runs before the handler, for unary and streaming calls alike,
 * but after Connect has read the request message; a listener that must not read a stranger's
 * body runs the same check first (`connectHandler`'s `precheck`).
 */
export function authInterceptor (gate: Gate, scopeOf: ScopeOf = scopeOfMethod): Interceptor {
  const check = callCheck(gate, scopeOf)
  return (next) => async (req) => {
    check(req.header, req.service.typeName, req.method.name)
    return await next(req)
  }
}

/** The scopes the methods `routes` registers need: what a listener serving them must be able to grant. */
export function scopesOfRoutes (routes: (router: ConnectRouter) => void, scopeOf: ScopeOf = scopeOfMethod): Set<Scope> {
  const router = createConnectRouter()
  routes(router)
  return new Set(router.handlers.map(h => scopeOf(h.service.typeName, h.method.name)))
}

/** A client interceptor sending `Authorization: Bearer <token>` with every call. */
export function bearerInterceptor (token: string): Interceptor {
  return (next) => async (req) => {
    req.header.set('authorization', `Bearer ${token}`)
    return await next(req)
  }
}
