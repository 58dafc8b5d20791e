import { patchConfigDocument, type z } from '@codio/config'
import { isLiveKey } from './live-keys.js'
import { roleConfigSchemas, type NodeRole } from './roles.js'

type JsonObject = Record<string, unknown>

/**
 * A role's cluster configuration document after an update, for the tracker: `current` (the
 * stored document, `{}` when none) with `patch` (TOML shape, the file's spellings: "10MB",
 * "30s") applied at `mask` (TOML paths; empty = every leaf present in `patch`; a masked path
 * absent from `patch` is removed from the document). Validated whole by the role's schema
 * over its defaults, and only settings the role applies live may be set. Pure.
 *
 * @returns the new document (values as given, e.g. "10MB")
 * @throws ConfigError (InvalidArgument) listing every unknown key and invalid value at once
 * @throws RestartRequiredError (FailedPrecondition) naming every setting that needs a restart
 * @throws TypeError for an unknown role
 */
export function checkClusterUpdate (role: NodeRole, current: JsonObject, patch: JsonObject, mask: readonly string[]): JsonObject {
  const schema: z.ZodType | undefined = roleConfigSchemas[role]
  if (schema === undefined) throw new TypeError(`unknown role ${JSON.stringify(role)}: expected edge, relay or origin`)
  return patchConfigDocument({ schema, current, patch, mask, isLive: path => isLiveKey(role, path) })
}
