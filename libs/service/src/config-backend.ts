import type { AdminBackend, ConfigView, PublisherKeyInfo } from '@codio/admin'
import { decodeManifest, parseContentId } from '@codio/content'
import { LIVE_SWARM_POLICY_KEYS, type CodioPeer, type PeerReconfigure, type PeerServiceConfig } from '@codio/peer'
import { decodePublicKey, encodePublicKey, loadPublicKey, TrustedKeys } from '@codio/signing'
import type { Logger } from '@codio/telemetry'

/** The part of a node's configuration the config backend reads and applies. */
export type NodeLiveConfig = Pick<PeerServiceConfig, 'logLevel' | 'swarm' | 'fetch' | 'trust' | 'tracker'>

/**
 * What the config backend needs of a layered configuration (`LayeredConfig` of @codio/config
 * over a peer role's schema).
 */
export interface NodeConfigSource {
  readonly current: NodeLiveConfig
  view(): ConfigView
  update(patch: unknown, mask: readonly string[]): Promise<{ changed: string[], config: ConfigView['config'] }>
  /** an update built from the runtime layer's document as the update runs (read-modify-write) */
  updateFrom(build: (runtime: Record<string, unknown>) => { patch: unknown, mask: readonly string[] }): Promise<unknown>
  /** a layer's document as given: `file`, `env`, `cluster` or `runtime` */
  layer(name: 'file' | 'env' | 'cluster' | 'runtime'): Record<string, unknown>
  onChange(listener: (config: NodeLiveConfig, changed: string[]) => void | Promise<void>): () => void
  /** Replace the fleet's layer (the tracker's Watch stream); an invalid document is logged and kept out. */
  setClusterLayer(doc: unknown): Promise<{ applied: boolean, changed: string[] }>
}

/** A TrustKey/RevokeKey argument that is not a base64url Ed25519 public key (InvalidArgument). */
export class InvalidPublicKeyError extends Error {
  override name = 'InvalidPublicKeyError'
}

/** The admin calls of a node's configuration and publisher keys, and what applies its changes. */
export interface NodeConfigBackend {
  /** the admin calls, to spread into the process's AdminBackend */
  calls: Required<Pick<AdminBackend, 'getConfig' | 'updateConfig' | 'trustKey' | 'revokeKey' | 'listKeys'>>
  /** Stop applying configuration changes to the peer. */
  close(): void
  /** The peer has started: purge, in the background, what revoked keys signed. */
  started(): void
}

export interface NodeConfigBackendInit {
  config: NodeConfigSource
  peer: CodioPeer
  /** the process's root logger: `logLevel` sets its level (children without their own follow) */
  log: Logger
}

/**
 * The config side of a peer's admin API, over a layered configuration:
 *
 * - GetConfig / UpdateConfig: the configuration's view and its all-or-nothing runtime update
 *   (ConfigError → InvalidArgument, RestartRequiredError → FailedPrecondition).
 * - TrustKey: adds the key to the runtime `trust.publisherKeys` (and takes it off the runtime
 *   `trust.revokedKeys`; a key a lower layer revokes stays revoked).
 * - RevokeKey: adds it to the runtime `trust.revokedKeys` — refused from then on, even where a
 *   lower layer trusts it — then purges every content held whole or being fetched whose
 *   manifest that key signed (a manifest has one signature: its publisher's).
 * - ListKeys: the keys of the file (and environment), cluster and runtime layers, with their
 *   revoked flag, plus the keys the service trusts of its own (the origin's publisher key,
 *   listed as `file`).
 *
 * Every change of the effective configuration is applied to the running peer: `logLevel`, the
 * live `[swarm]` and `[fetch]` keys, `tracker.gossipInterval` and the trusted keys
 * ({@link CodioPeer.reconfigure}). Keys the service trusted at start beyond its configured ones
 * (the origin's own) stay trusted unless revoked.
 *
 * @throws (from the returned promise) KeyFileError / InvalidKeyError when a configured
 *   publisher key cannot be loaded at start
 */
export async function nodeConfigBackend (init: NodeConfigBackendInit): Promise<NodeConfigBackend> {
  const { config, peer, log } = init
  const configured = await loadKeys(config.current.trust.publisherKeys)
  /** trusted by the service itself, not by configuration (the origin's publisher key) */
  const own = peer.init.trustedKeys.list().filter(k => !configured.includes(k))

  /**
   * Purge every content held whole or being fetched (a swarm download holding chunks) whose
   * manifest one of `keys` signed. @returns their content IDs
   */
  const purgeSignedBy = async (keys: ReadonlySet<string>): Promise<string[]> => {
    const purged: string[] = []
    if (keys.size === 0) return purged
    const held = new Map((await peer.store.listContents()).map(cid => [cid.toString(), cid]))
    for (const h of await peer.swarm.holdings()) if (!held.has(h.contentId)) held.set(h.contentId, parseContentId(h.contentId))
    for (const cid of held.values()) {
      const bytes = await peer.store.get(cid)
      if (bytes == null) continue
      let publisher: string
      try {
        publisher = encodePublicKey(decodeManifest(bytes).publisher)
      } catch {
        continue
      }
      if (!keys.has(publisher)) continue
      await peer.purge(cid)
      purged.push(cid.toString())
    }
    if (purged.length > 0) log.info({ keys: [...keys], purged }, 'purged content signed by revoked publisher keys')
    return purged
  }

  let revokedNow = new Set(config.current.trust.revokedKeys)
  /** content purged by the last trust change (RevokeKey answers with it) */
  let lastPurged: string[] = []
  const applyTrust = async (c: NodeLiveConfig): Promise<void> => {
    const keys = new TrustedKeys(own)
    for (const k of await loadKeys(c.trust.publisherKeys, log)) keys.add(k)
    for (const k of c.trust.revokedKeys) keys.revoke(k)
    peer.reconfigure({ trustedKeys: keys })
    log.info({ trusted: keys.size, revoked: keys.listRevoked().length }, 'publisher keys applied')
    // a key revoked by any layer (this node's RevokeKey, the cluster document): its content goes
    const newly = new Set(c.trust.revokedKeys.filter(k => !revokedNow.has(k)))
    revokedNow = new Set(c.trust.revokedKeys)
    lastPurged = await purgeSignedBy(newly)
  }
  // revocations (persisted runtime ones included) apply from the start
  await applyTrust(config.current)

  const unsubscribe = config.onChange(async (c, changed) => {
    const under = (prefix: string): boolean => changed.some(p => p.startsWith(prefix))
    if (changed.includes('logLevel')) {
      log.level = c.logLevel
      log.info({ logLevel: c.logLevel }, 'log level changed')
    }
    const change: PeerReconfigure = {}
    if (under('swarm.')) change.swarm = Object.fromEntries(LIVE_SWARM_POLICY_KEYS.map(k => [k, c.swarm[k]]))
    if (under('fetch.')) {
      Object.assign(change, {
        lookupTimeoutMs: c.fetch.lookupTimeout,
        requestTimeoutMs: c.fetch.requestTimeout,
        perPeerInFlight: c.fetch.perPeerInFlight,
        maxInFlight: c.fetch.maxInFlight,
        strategy: c.fetch.strategy,
        streamingWindow: c.fetch.streamingWindow
      })
    }
    if (changed.includes('tracker.gossipInterval')) change.gossipIntervalMs = c.tracker.gossipInterval
    if (Object.keys(change).length > 0) {
      peer.reconfigure(change)
      log.info({ changed }, 'configuration applied')
    }
    if (under('trust.')) await applyTrust(c)
  })

  /** A layer's `trust` list, as given. */
  const layerKeys = (layer: 'file' | 'env' | 'cluster' | 'runtime', list: 'publisherKeys' | 'revokedKeys'): string[] => trustList(config.layer(layer), list)
  /** Change the runtime trust lists (one update: both applied, or neither). */
  const changeTrust = async (change: (trusted: string[], revoked: string[]) => [string[], string[]]): Promise<void> => {
    await config.updateFrom(runtime => {
      const [publisherKeys, revokedKeys] = change(trustList(runtime, 'publisherKeys'), trustList(runtime, 'revokedKeys'))
      return { patch: { trust: { publisherKeys, revokedKeys } }, mask: ['trust.publisherKeys', 'trust.revokedKeys'] }
    })
  }

  const calls: NodeConfigBackend['calls'] = {
    async getConfig () {
      return config.view()
    },
    async updateConfig (patch, mask) {
      return await config.update(patch, mask)
    },
    async trustKey (publicKey) {
      const key = canonicalKey(publicKey)
      await changeTrust((trusted, revoked) => [[...new Set([...trusted, key])], revoked.filter(k => k !== key)])
      if (config.current.trust.revokedKeys.includes(key)) log.warn({ publicKey: key }, 'TrustKey: the key stays revoked by the file or cluster configuration')
    },
    async revokeKey (publicKey) {
      const key = canonicalKey(publicKey)
      lastPurged = []
      // applied (keys swapped, its content purged) before the update returns: no manifest of
      // it passes from here on
      await changeTrust((trusted, revoked) => [trusted.filter(k => k !== key), [...new Set([...revoked, key])]])
      const purged = new Set(lastPurged)
      // already revoked by another layer (no change to apply): purge what is left of it anyway
      for (const id of await purgeSignedBy(new Set([key]))) purged.add(id)
      log.info({ publicKey: key, purged: purged.size }, 'publisher key revoked')
      return { purgedContentIds: [...purged] }
    },
    async listKeys () {
      const revoked = new Set(config.current.trust.revokedKeys)
      const out: PublisherKeyInfo[] = []
      const seen = new Set<string>()
      const add = (publicKey: string, source: PublisherKeyInfo['source']): void => {
        const id = `${source} ${publicKey}`
        if (seen.has(id)) return
        seen.add(id)
        out.push({ publicKey, revoked: revoked.has(publicKey), source })
      }
      for (const k of own) add(k, 'file')
      const layers = [['file', 'file'], ['env', 'file'], ['cluster', 'cluster'], ['runtime', 'runtime']] as const
      for (const [layer, source] of layers) {
        for (const k of await loadKeys(layerKeys(layer, 'publisherKeys'), log)) add(k, source)
        for (const k of layerKeys(layer, 'revokedKeys')) add(k, source)
      }
      return out
    }
  }
  return {
    calls,
    close: unsubscribe,
    started () {
      // content of keys revoked while the node was down (in the file, say) goes in the background
      void purgeSignedBy(revokedNow).catch(err => log.warn({ err: (err as Error).message }, 'purging content of revoked keys failed'))
    }
  }
}

/** The `trust.<list>` strings of a layer's document. */
function trustList (doc: Record<string, unknown>, list: 'publisherKeys' | 'revokedKeys'): string[] {
  const trust = doc.trust as Record<string, unknown> | undefined
  const v = trust?.[list]
  return Array.isArray(v) ? v.filter((k): k is string => typeof k === 'string') : []
}

/** The canonical base64url form of a publisher key. @throws InvalidPublicKeyError */
function canonicalKey (publicKey: string): string {
  try {
    return encodePublicKey(decodePublicKey(publicKey.trim()))
  } catch (err) {
    throw new InvalidPublicKeyError(`not a base64url Ed25519 public key: ${(err as Error).message}`, { cause: err })
  }
}

/**
 * Base64url keys from configured entries (keys or JWK/PEM paths). With `log`, an entry that
 * cannot be loaded is logged and skipped; without, it throws.
 */
async function loadKeys (entries: readonly string[], log?: Logger): Promise<string[]> {
  const out: string[] = []
  for (const entry of entries) {
    try {
      out.push(encodePublicKey(await loadPublicKey(entry)))
    } catch (err) {
      if (log == null) throw err
      log.warn({ entry, err: (err as Error).message }, 'publisher key cannot be loaded: skipped')
    }
  }
  return out
}
