import type { FastifyReply, FastifyRequest } from 'fastify'
import { BEARER_CHALLENGE, type Gate } from './auth.js'
import type { Scope } from './scopes.js'

/**
 * A Fastify `onRequest` hook for one route: requests without a token granting `scope` get
 * 401 (missing or wrong token, with `WWW-Authenticate: Bearer realm="codio"`) or 403 (a valid
 * token without the scope) and a JSON `{ error, reason, message }`, before any body is read
 * (the connection is closed after a refused upload, whose body is never read).
 *
 * @example
 * ```ts
 * app.put('/content', { onRequest: requireScope(gate, 'publish') }, handler)
 * ```
 */
export function requireScope (gate: Gate, scope: Scope, endpoint?: string) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const name = endpoint ?? `${request.method} ${request.routeOptions.url ?? request.url}`
    const outcome = gate.authorize(request.headers.authorization, scope, name, request.ip)
    if (outcome.ok) return
    const forbidden = outcome.reason === 'forbidden'
    if (!forbidden) reply.header('www-authenticate', BEARER_CHALLENGE)
    const hasBody = request.headers['content-length'] != null ? request.headers['content-length'] !== '0' : request.headers['transfer-encoding'] != null
    if (hasBody) reply.header('connection', 'close')
    await reply.code(forbidden ? 403 : 401).send({ error: forbidden ? 'Forbidden' : 'Unauthorized', reason: outcome.reason, message: outcome.message })
  }
}
