/**
 * Redis layout of the tracker (every key starts with the configured prefix, default
 * `codio:tracker:`; all but `banned` expire at the peer timeout and are refreshed by gossip):
 *
 * | key | type | content |
 * |---|---|---|
 * | `p:<peer>` | hash | `addrs` (multiaddrs, "\n"-joined), `roles` (","-joined), `first` / `seen` (Unix ms the tracker first / last applied its gossip: the uptime ranking uses), `uptime` (s, as it claims), `served`, `failed`, `bytes`, `ats`/`aseq` and `mts`/`mseq` (timestamp and sequence of the last availability / metrics message applied); and what others observed of it: `o:<observer>` → "rawSuccesses rawFailures s f ms" (that observer's last cumulative counts, its bounded share, when it reported), `_s`/`_f` (sums over observers of their shares), `_v` (last 10 speed measurements, bytes/s, newest first, ","-joined) |
 * | `r:<peer>` | string | its ranking record, rebuilt from `p:<peer>` by every script that changes it: `addrs`, observed uptime (`seen` − `first`, s), an empty field, `failed`, `_s`, `_f`, `_v` tab-separated |
 * | `pc:<peer>` | set | content IDs of its last availability message |
 * | `c:<cid>` | sorted set | holders of the content, scored by when their availability was applied (Unix ms): "online holders" is one range query |
 * | `n:<cid>` | hash | `<peer>` → "<chunkCount>:<haveCount>" |
 * | `b:<cid>` | hash | `<peer>` → its BEP 3 bitfield, raw bytes (partial holders only) |
 * | `h:<peer>` | string | hand-outs by SelectPeers in the current load window (expires with the window) |
 * | `peers` | sorted set | peers that sent gossip, scored by when last applied (Unix ms): at most the configured number heard from within the timeout |
 * | `banned` | set | peer IDs never handed out (no expiry): the tracker's configured bans |
 * | `fb` | sorted set | fleet bans (ControlService.BanPeer), scored by expiry (Unix ms, `inf` = until lifted): peers scored after now are not handed out either (see control-keys.ts) |
 *
 * SelectPeers reads, for all holders at once, their ranking records and load counters (MGET)
 * and the content's chunk counts (HGETALL): a constant number of commands per call. The
 * ranking record duplicates part of `p:<peer>` so that this is one MGET rather than one
 * HMGET per holder.
 */
export interface TrackerKeys {
  peer(peerId: string): string
  rankRecord(peerId: string): string
  contentsOf(peerId: string): string
  holders(contentId: string): string
  counts(contentId: string): string
  bitfields(contentId: string): string
  load(peerId: string): string
  readonly banned: string
  readonly fleetBans: string
}

export function trackerKeys (prefix: string): TrackerKeys {
  return {
    peer: (id) => `${prefix}p:${id}`,
    rankRecord: (id) => `${prefix}r:${id}`,
    contentsOf: (id) => `${prefix}pc:${id}`,
    holders: (cid) => `${prefix}c:${cid}`,
    counts: (cid) => `${prefix}n:${cid}`,
    bitfields: (cid) => `${prefix}b:${cid}`,
    load: (id) => `${prefix}h:${id}`,
    banned: `${prefix}banned`,
    fleetBans: `${prefix}fb`
  }
}

/** Parse an `n:<cid>` value "<chunkCount>:<haveCount>"; `undefined` for anything else. */
export function parseCounts (value: string | Buffer | null | undefined): { chunkCount: number, haveCount: number } | undefined {
  if (value == null) return undefined
  const m = /^(\d+):(\d+)$/.exec(value.toString())
  if (m === null) return undefined
  const chunkCount = Number(m[1])
  const haveCount = Number(m[2])
  return chunkCount >= 1 && haveCount <= chunkCount ? { chunkCount, haveCount } : undefined
}
