import type { JsonObject } from '@bufbuild/protobuf'
import { checkClusterUpdate, roleConfigSchemas, type NodeRole } from '@codio/node-config'

/** Whether `role` has a configuration schema, i.e. may have a cluster document (edge, relay, origin). */
export function isNodeRole (role: string): role is NodeRole {
  return Object.hasOwn(roleConfigSchemas, role)
}

/**
 * The role's new cluster document: `patch` applied to `current` along `mask`, validated by the
 * role's own schema (@codio/node-config), as a node validates its UpdateConfig.
 * @throws ConfigError naming every bad key (InvalidArgument), RestartRequiredError naming keys
 *   that need a restart (FailedPrecondition)
 */
export function nextClusterDocument (role: NodeRole, current: JsonObject, patch: JsonObject, mask: string[]): JsonObject {
  return checkClusterUpdate(role, current, patch, mask) as JsonObject
}
