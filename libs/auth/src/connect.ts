import { Code, ConnectError, createConnectRouter, type ConnectRouter, type Interceptor } from '@connectrpc/connect'
import { BEARER_CHALLENGE, type Gate } from './auth.js'
import { scopeOfMethod, type Scope } from './scopes.js'

/** Maps a method (service type name, method name as in the .proto) to the scope it needs. */
export type ScopeOf = (typeName: string, method: string) => Scope

/**
 * A ConnectRPC server interceptor (`connectNodeAdapter({ routes, interceptors: [...] })`) that
 * lets a call through only with a bearer token granting its method's scope
 * ({@link scopeOfMethod} by default). Refusals: `unauthenticated` for a missing or wrong
 * token (with `WWW-Authenticate: Bearer realm="codio"`), `permission_denied` for a valid
 * token without the scope. Runs before the handler, for unary and streaming calls alike.
 */
export function authInterceptor (gate: Gate, scopeOf: ScopeOf = scopeOfMethod): Interceptor {
  return (next) => async (req) => {
    const endpoint = `${req.service.typeName}/${req.method.name}`
    const outcome = gate.authorize(req.header.get('authorization'), scopeOf(req.service.typeName, req.method.name), endpoint)
    if (!outcome.ok) {
      if (outcome.reason === 'forbidden') throw new ConnectError(outcome.message, Code.PermissionDenied)
      throw new ConnectError(outcome.message, Code.Unauthenticated, { 'www-authenticate': BEARER_CHALLENGE })
    }
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
