/**
 * Lua scripts, run atomically by Redis (EVALSHA, falling back to EVAL after a restart). Each
 * update is one script so that replicas applying gossip concurrently never interleave halfway.
 * Keys are built from ARGV[1] (the prefix) as laid out in keys.ts: a standalone or
 * Sentinel-managed Redis, not Redis Cluster. Reads that touch every holder are plain pipelined
 * commands instead (select.ts): in Lua, each value crossing into the script costs more Redis
 * CPU than the command itself, and Redis's one thread is what all tracker replicas share.
 */

// Helpers shared by the scripts. `unpack` of a very long list overflows Lua's C stack, hence
// batches of 500.
const COMMON = `
local function batches(list, fn)
  for i = 1, #list, 500 do
    local batch = {}
    for j = i, math.min(i + 499, #list) do batch[#batch + 1] = list[j] end
    fn(batch)
  end
end
local function forget(P, cid, peers)
  batches(peers, function(batch)
    redis.call('ZREM', P .. 'c:' .. cid, unpack(batch))
    redis.call('HDEL', P .. 'n:' .. cid, unpack(batch))
    redis.call('HDEL', P .. 'b:' .. cid, unpack(batch))
  end)
end
-- A message is stale when neither its timestamp nor its sequence moved past the last applied
-- one: replicas may apply one peer's messages out of order, and a restarted peer starts its
-- sequence again (with a later timestamp).
local function stale(last, ts, seq)
  if not last[1] then return false end
  return ts <= tonumber(last[1]) and seq <= tonumber(last[2])
end
-- Rebuild the peer's ranking record r:<peer> from its hash (see keys.ts): SelectPeers then
-- reads every holder's record with one MGET instead of one HMGET per holder.
local function rerank(P, peer, ttl)
  local v = redis.call('HMGET', P .. 'p:' .. peer, 'addrs', 'uptime', 'served', 'failed', '_s', '_f', '_v')
  for k = 1, 7 do if not v[k] then v[k] = '' end end
  redis.call('SET', P .. 'r:' .. peer, table.concat(v, '\t'), 'PX', ttl)
end
`

/**
 * Apply an availability snapshot.
 * ARGV: prefix, peer, now (ms), ttl (ms), timestamp, sequence, multiaddrs ("\n"-joined),
 * roles (","-joined), then (content ID, "<chunkCount>:<haveCount>", bitfield or "" when
 * complete) triples. Returns 1, or 0 when stale.
 */
export const APPLY_AVAILABILITY = COMMON + `
local P, peer, now, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local pk = P .. 'p:' .. peer
if stale(redis.call('HMGET', pk, 'ats', 'aseq'), tonumber(ARGV[5]), tonumber(ARGV[6])) then return 0 end
redis.call('HSET', pk, 'addrs', ARGV[7], 'roles', ARGV[8], 'ats', ARGV[5], 'aseq', ARGV[6], 'seen', ARGV[3])
redis.call('PEXPIRE', pk, ttl)
local ck = P .. 'pc:' .. peer
local held = {}
for i = 9, #ARGV, 3 do held[ARGV[i]] = true end
for _, cid in ipairs(redis.call('SMEMBERS', ck)) do
  if not held[cid] then forget(P, cid, { peer }) end
end
redis.call('DEL', ck)
local cutoff = '(' .. (now - tonumber(ttl))
for i = 9, #ARGV, 3 do
  local cid = ARGV[i]
  local zk, nk, bk = P .. 'c:' .. cid, P .. 'n:' .. cid, P .. 'b:' .. cid
  -- holders past the timeout leave the content's keys here, where they are touched anyway
  local gone = redis.call('ZRANGEBYSCORE', zk, '-inf', cutoff)
  if #gone > 0 then forget(P, cid, gone) end
  redis.call('ZADD', zk, ARGV[3], peer)
  redis.call('HSET', nk, peer, ARGV[i + 1])
  redis.call('PEXPIRE', zk, ttl)
  redis.call('PEXPIRE', nk, ttl)
  if ARGV[i + 2] == '' then
    redis.call('HDEL', bk, peer)
  else
    redis.call('HSET', bk, peer, ARGV[i + 2])
    redis.call('PEXPIRE', bk, ttl)
  end
  redis.call('SADD', ck, cid)
end
if #ARGV >= 9 then redis.call('PEXPIRE', ck, ttl) end
rerank(P, peer, ttl)
return 1
`

/**
 * Apply a metrics report and the observations in it.
 * ARGV: prefix, peer, now (ms), ttl (ms), timestamp, sequence, uptime (s), served, failed,
 * bytes, speed window, then (observed peer, bytes/s, failures, successes) quadruples.
 * Returns 1, or 0 when stale.
 *
 * Observers report cumulative counts; the sums `_s`/`_f` grow by the difference from that
 * observer's previous report, or by the whole count when it went down (the observer restarted
 * and counts from zero again), like Prometheus counter resets. Observing a peer keeps its
 * record alive for the peer timeout; whether it is online depends on its own gossip only.
 */
export const APPLY_METRICS = COMMON + `
local P, peer, ttl = ARGV[1], ARGV[2], ARGV[4]
local pk = P .. 'p:' .. peer
if stale(redis.call('HMGET', pk, 'mts', 'mseq'), tonumber(ARGV[5]), tonumber(ARGV[6])) then return 0 end
redis.call('HSET', pk, 'uptime', ARGV[7], 'served', ARGV[8], 'failed', ARGV[9], 'bytes', ARGV[10], 'mts', ARGV[5], 'mseq', ARGV[6], 'seen', ARGV[3])
redis.call('PEXPIRE', pk, ttl)
redis.call('PEXPIRE', P .. 'pc:' .. peer, ttl)
local window = tonumber(ARGV[11])
local field = 'o:' .. peer
for i = 12, #ARGV, 4 do
  local target = ARGV[i]
  if target ~= peer then
    local tk = P .. 'p:' .. target
    local f, s = tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
    local ds, df = s, f
    local prev = redis.call('HGET', tk, field)
    if prev then
      local ps, pf = string.match(prev, '^(%d+) (%d+)$')
      ps, pf = tonumber(ps), tonumber(pf)
      if ps and s >= ps and f >= pf then ds, df = s - ps, f - pf end
    end
    if ds > 0 then redis.call('HINCRBY', tk, '_s', string.format('%d', ds)) end
    if df > 0 then redis.call('HINCRBY', tk, '_f', string.format('%d', df)) end
    redis.call('HSET', tk, field, ARGV[i + 3] .. ' ' .. ARGV[i + 2])
    if tonumber(ARGV[i + 1]) > 0 then
      local speeds, n = ARGV[i + 1], 1
      local old = redis.call('HGET', tk, '_v')
      if old then
        for v in string.gmatch(old, '[^,]+') do
          if n >= window then break end
          speeds = speeds .. ',' .. v
          n = n + 1
        end
      end
      redis.call('HSET', tk, '_v', speeds)
    end
    redis.call('PEXPIRE', tk, ttl)
    rerank(P, target, ttl)
  end
end
rerank(P, peer, ttl)
return 1
`

/**
 * Count a hand-out of each chosen peer (a counter per peer that starts a load window on its
 * first hand-out and expires with it) and return, per peer, its "<chunkCount>:<haveCount>" and
 * its bitfield ("" when complete or gone).
 * ARGV: prefix, content ID, load window (ms), then peer IDs.
 */
export const HAND_OUT = `
local P, cid, window = ARGV[1], ARGV[2], ARGV[3]
local out = {}
for i = 4, #ARGV do
  local k = P .. 'h:' .. ARGV[i]
  if redis.call('INCR', k) == 1 then redis.call('PEXPIRE', k, window) end
  out[#out + 1] = redis.call('HGET', P .. 'n:' .. cid, ARGV[i]) or ''
  out[#out + 1] = redis.call('HGET', P .. 'b:' .. cid, ARGV[i]) or ''
end
return out
`

/** Name → source of every script, for `redis.defineCommand`. */
export const SCRIPTS = {
  codioTrackerApplyAvailability: APPLY_AVAILABILITY,
  codioTrackerApplyMetrics: APPLY_METRICS,
  codioTrackerHandOut: HAND_OUT
} as const

export type ScriptName = keyof typeof SCRIPTS
