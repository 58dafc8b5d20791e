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
-- sequence again (with a later timestamp). The timestamp given is already capped at the
-- tracker's clock (apply.ts), so a message dated ahead never blocks the peer's next one, and a
-- later timestamp resets the sequence: a jump to 2^53 − 1 locks nobody out.
local function stale(last, ts, seq)
  if not last[1] then return false end
  return ts <= tonumber(last[1]) and seq <= tonumber(last[2])
end
-- Keep the sender among the tracked peers (zset 'peers', scored by when last heard): false
-- when it is new and the tracker already keeps \`max\` peers heard from within the timeout.
local function admit(P, peer, now, ttl, max)
  local pz = P .. 'peers'
  redis.call('ZREMRANGEBYSCORE', pz, '-inf', '(' .. (now - tonumber(ttl)))
  if not redis.call('ZSCORE', pz, peer) and redis.call('ZCARD', pz) >= max then return false end
  redis.call('ZADD', pz, now, peer)
  redis.call('PEXPIRE', pz, ttl)
  return true
end
-- The tracker starts counting a peer's uptime when it first hears from it, and again after a
-- silence past the peer timeout (its record may outlive that while others observe it).
local function arrive(pk, now, ttl)
  local seen = tonumber(redis.call('HGET', pk, 'seen'))
  if not seen or now - seen > tonumber(ttl) then redis.call('HSET', pk, 'first', string.format('%.0f', now)) end
end
-- Rebuild the peer's ranking record r:<peer> from its hash (see keys.ts): SelectPeers then
-- reads every holder's record with one MGET instead of one HMGET per holder. The uptime in it
-- is the span the tracker has heard the peer for (seen − first, s), not what the peer claims.
local function rerank(P, peer, ttl)
  local v = redis.call('HMGET', P .. 'p:' .. peer, 'addrs', 'first', 'seen', 'failed', '_s', '_f', '_v')
  local up = ''
  if v[2] and v[3] then up = string.format('%.3f', (tonumber(v[3]) - tonumber(v[2])) / 1000) end
  local rec = { v[1] or '', up, '', v[4] or '', v[5] or '', v[6] or '', v[7] or '' }
  redis.call('SET', P .. 'r:' .. peer, table.concat(rec, '\t'), 'PX', ttl)
end
`

/**
 * Apply an availability snapshot.
 * ARGV: prefix, peer, now (ms), ttl (ms), timestamp (capped at now), sequence, multiaddrs
 * ("\n"-joined), roles (","-joined), most peers tracked, then (content ID,
 * "<chunkCount>:<haveCount>", bitfield or "" when complete) triples.
 * Returns 1, 0 when stale, -1 when the peer is new and the tracker keeps the most peers it may.
 */
export const APPLY_AVAILABILITY = COMMON + `
local P, peer, now, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local pk = P .. 'p:' .. peer
if stale(redis.call('HMGET', pk, 'ats', 'aseq'), tonumber(ARGV[5]), tonumber(ARGV[6])) then return 0 end
if not admit(P, peer, now, ttl, tonumber(ARGV[9])) then return -1 end
arrive(pk, now, ttl)
redis.call('HSET', pk, 'addrs', ARGV[7], 'roles', ARGV[8], 'ats', ARGV[5], 'aseq', ARGV[6], 'seen', ARGV[3])
redis.call('PEXPIRE', pk, ttl)
local ck = P .. 'pc:' .. peer
local held = {}
for i = 10, #ARGV, 3 do held[ARGV[i]] = true end
for _, cid in ipairs(redis.call('SMEMBERS', ck)) do
  if not held[cid] then forget(P, cid, { peer }) end
end
redis.call('DEL', ck)
local cutoff = '(' .. (now - tonumber(ttl))
for i = 10, #ARGV, 3 do
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
if #ARGV >= 10 then redis.call('PEXPIRE', ck, ttl) end
rerank(P, peer, ttl)
return 1
`

/**
 * Apply a metrics report and the observations in it.
 * ARGV: prefix, peer, now (ms), ttl (ms), timestamp (capped at now), sequence, uptime (s),
 * served, failed, bytes, speed window, most peers tracked, most outcomes per observer, most
 * requests per second, seconds assumed before an observer's first report, fastest speed
 * (bytes/s), then (observed peer, bytes/s, failures, successes) quadruples.
 * Returns { 1 | 0 when stale | -1 when the peer is new and the tracker is full, observations
 * left out because the observed peer is unknown }.
 *
 * Observers report cumulative counts; each report adds the difference from that observer's
 * previous one (the whole count when it went down: the observer restarted, like Prometheus
 * counter resets), bounded twice: the growth is cut to most-requests-per-second × the seconds
 * since its previous report (1 s to the peer timeout), and the observer's running contribution
 * (kept in `o:<observer>` as "rawS rawF s f ms") is scaled down to at most
 * most-outcomes-per-observer in all. So one observer moves a peer's reputation a bounded
 * amount, and sinking a peer takes many. Only peers the tracker already has a record of are
 * observed (made-up targets add no state). Observing a peer keeps its record alive for the
 * peer timeout; whether it is online depends on its own gossip only.
 */
export const APPLY_METRICS = COMMON + `
local P, peer, now, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local pk = P .. 'p:' .. peer
if stale(redis.call('HMGET', pk, 'mts', 'mseq'), tonumber(ARGV[5]), tonumber(ARGV[6])) then return { 0, 0 } end
if not admit(P, peer, now, ttl, tonumber(ARGV[12])) then return { -1, 0 } end
arrive(pk, now, ttl)
redis.call('HSET', pk, 'uptime', ARGV[7], 'served', ARGV[8], 'failed', ARGV[9], 'bytes', ARGV[10], 'mts', ARGV[5], 'mseq', ARGV[6], 'seen', ARGV[3])
redis.call('PEXPIRE', pk, ttl)
redis.call('PEXPIRE', P .. 'pc:' .. peer, ttl)
local window, maxWeight, maxRate = tonumber(ARGV[11]), tonumber(ARGV[13]), tonumber(ARGV[14])
local firstSecs, maxSpeed, ttlSecs = tonumber(ARGV[15]), tonumber(ARGV[16]), tonumber(ttl) / 1000
local field = 'o:' .. peer
local unknown = 0
for i = 17, #ARGV, 4 do
  local target = ARGV[i]
  local tk = P .. 'p:' .. target
  if target ~= peer and redis.call('EXISTS', tk) == 0 then
    unknown = unknown + 1
  elseif target ~= peer then
    local f, s = tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
    local ds, df, es, ef, secs = s, f, 0, 0, firstSecs
    local prev = redis.call('HGET', tk, field)
    if prev then
      local ps, pf, pes, pef, pt = string.match(prev, '^(%S+) (%S+) (%S+) (%S+) (%S+)$')
      ps, pf, pes, pef, pt = tonumber(ps), tonumber(pf), tonumber(pes), tonumber(pef), tonumber(pt)
      if ps and pf and pes and pef and pt then
        es, ef, secs = pes, pef, (now - pt) / 1000
        if s >= ps and f >= pf then ds, df = s - ps, f - pf end
      end
    end
    -- no more requests than time allows
    local cap = maxRate * math.min(math.max(secs, 1), ttlSecs)
    if ds + df > cap then
      local k = cap / (ds + df)
      ds, df = ds * k, df * k
    end
    -- no observer counts for more than maxWeight outcomes: older evidence is scaled down
    local ns, nf = es + ds, ef + df
    if ns + nf > maxWeight then
      local k = maxWeight / (ns + nf)
      ns, nf = ns * k, nf * k
    end
    if ns ~= es then redis.call('HINCRBYFLOAT', tk, '_s', string.format('%.6f', ns - es)) end
    if nf ~= ef then redis.call('HINCRBYFLOAT', tk, '_f', string.format('%.6f', nf - ef)) end
    redis.call('HSET', tk, field, string.format('%.0f %.0f %.6f %.6f %.0f', s, f, ns, nf, now))
    local speed = tonumber(ARGV[i + 1])
    if speed > 0 then
      local speeds, n = ARGV[i + 1], 1
      if speed > maxSpeed then speeds = string.format('%.0f', maxSpeed) end
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
return { 1, unknown }
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
