import { trackerKeys } from './keys.js'

/**
 * Redis layout of the fleet control plane, next to the tracker's (keys.ts), under the same
 * prefix. None expires except jobs:
 *
 * | key | type | content |
 * |---|---|---|
 * | `cc:<role>` | hash | `doc` (the role's cluster document, JSON), `version`, `updated` (Unix ms) |
 * | `fb` | sorted set | fleet-banned peer IDs scored by expiry (Unix ms, `inf` = until lifted); SelectPeers skips those scored after now |
 * | `fbr` | hash | `<peer>` → its ban, JSON `{ reason, createdMs, expiresMs }` |
 * | `kt` / `kr` | set | trusted / revoked publisher keys (base64url) |
 * | `ev` | stream | control events, trimmed to ~10 000: `t` (`purge`, `preheat`, `state`) and `d` (JSON) |
 * | `j:<id>` | hash | a job: `type`, `cids`, `role`, `peers` (JSON), `created`; `n:<peer>` → that node's progress (JSON); expires 7 days after creation |
 * | `jobs` | sorted set | job IDs scored by creation (Unix ms), for ListJobs |
 */
export interface ControlKeys {
  clusterConfig(role: string): string
  readonly bans: string
  readonly banRecords: string
  readonly trustedKeys: string
  readonly revokedKeys: string
  readonly events: string
  job(id: string): string
  readonly jobs: string
}

export function controlKeys (prefix: string): ControlKeys {
  return {
    // shared with SelectPeers, which skips fleet-banned peers
    bans: trackerKeys(prefix).fleetBans,
    clusterConfig: (role) => `${prefix}cc:${role}`,
    banRecords: `${prefix}fbr`,
    trustedKeys: `${prefix}kt`,
    revokedKeys: `${prefix}kr`,
    events: `${prefix}ev`,
    job: (id) => `${prefix}j:${id}`,
    jobs: `${prefix}jobs`
  }
}
