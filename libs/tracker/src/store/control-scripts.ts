/**
 * Lua scripts of the control plane (layout in control-keys.ts). Each change and the event that
 * announces it are one script, so a replica tailing the event stream never sees an event whose
 * change is not yet visible, and a change is never left unannounced.
 */

/**
 * Compare-and-set a role's cluster document.
 * ARGV: prefix, role, version read (the update applies only at this version), document JSON,
 * now (ms), stream max length, event JSON.
 * Returns { 1, new version } or { 0, current version } when another update came first.
 */
export const SET_CLUSTER_CONFIG = `
local P = ARGV[1]
local k = P .. 'cc:' .. ARGV[2]
local v = tonumber(redis.call('HGET', k, 'version') or '0')
if v ~= tonumber(ARGV[3]) then return { 0, v } end
v = v + 1
redis.call('HSET', k, 'doc', ARGV[4], 'version', v, 'updated', ARGV[5])
redis.call('XADD', P .. 'ev', 'MAXLEN', '~', ARGV[6], '*', 't', 'state', 'd', ARGV[7])
return { 1, v }
`

/**
 * Forget a content in the tracker's availability for every holder (`c:`, `n:`, `b:` of it and
 * its entry in each holder's `pc:` set) and append the purge command.
 * ARGV: prefix, content ID, stream max length, event JSON. Returns the event ID.
 */
export const PURGE = `
local P, cid = ARGV[1], ARGV[2]
for _, peer in ipairs(redis.call('ZRANGE', P .. 'c:' .. cid, 0, -1)) do
  redis.call('SREM', P .. 'pc:' .. peer, cid)
end
redis.call('DEL', P .. 'c:' .. cid, P .. 'n:' .. cid, P .. 'b:' .. cid)
return redis.call('XADD', P .. 'ev', 'MAXLEN', '~', ARGV[3], '*', 't', 'purge', 'd', ARGV[4])
`

/**
 * Record a node's progress on a job.
 * ARGV: prefix, job ID, peer ID, progress JSON.
 * Returns 1, 0 when there is no such job, -1 when the job names its peers and this is not one.
 */
export const REPORT_PROGRESS = `
local k = ARGV[1] .. 'j:' .. ARGV[2]
local peers = redis.call('HGET', k, 'peers')
if not peers then return 0 end
if peers ~= '[]' and not string.find(peers, '"' .. ARGV[3] .. '"', 1, true) then return -1 end
redis.call('HSET', k, 'n:' .. ARGV[3], ARGV[4])
return 1
`

/** Name → source, for `redis.defineCommand`. */
export const CONTROL_SCRIPTS = {
  codioControlSetClusterConfig: SET_CLUSTER_CONFIG,
  codioControlPurge: PURGE,
  codioControlReportProgress: REPORT_PROGRESS
} as const

export type ControlScriptName = keyof typeof CONTROL_SCRIPTS
