/**
 * What a bearer token may do.
 * - `read`: status, statistics, lists, configuration reads (`Get*` / `List*` calls).
 * - `admin`: every admin call; includes `read`.
 * - `publish`: the origin's `PUT /content` ingest.
 * - `node`: what a node carries to the tracker (peer selection, the config `Watch` stream,
 *   job progress); includes `read`.
 */
export type Scope = 'read' | 'admin' | 'publish' | 'node'

export const SCOPES: readonly Scope[] = ['read', 'admin', 'publish', 'node']

/** The scopes a token of each kind grants. */
export const GRANTS: Readonly<Record<Scope, readonly Scope[]>> = {
  read: ['read'],
  admin: ['admin', 'read'],
  publish: ['publish'],
  node: ['node', 'read']
}

/** The `[auth]` setting that holds tokens of each kind. */
export const TOKEN_SETTING: Readonly<Record<Scope, string>> = {
  read: 'auth.readTokenFiles',
  admin: 'auth.adminTokenFiles',
  publish: 'auth.publishTokenFiles',
  node: 'auth.nodeTokenFiles'
}

const READ = /^(Get|List)[A-Z]/

/**
 * The scope a ConnectRPC method needs, by the service's fully qualified name and the method's
 * name: `codio.tracker.v1.TrackerService` → read; `ControlService` `Watch` and
 * `ReportJobProgress` → node; any other `Get*` / `List*` → read; everything else → admin
 * (a method this table does not know is an admin call).
 */
export function scopeOfMethod (typeName: string, method: string): Scope {
  if (typeName === 'codio.tracker.v1.TrackerService') return 'read'
  if (typeName === 'codio.tracker.v1.ControlService' && (method === 'Watch' || method === 'ReportJobProgress')) return 'node'
  return READ.test(method) ? 'read' : 'admin'
}
