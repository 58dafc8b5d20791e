import type { JsonObject } from '@bufbuild/protobuf'
import { parseContentId } from '@codio/content'
import type { CodioPeer } from '@codio/peer'
import type { Logger } from '@codio/telemetry'
import { ControlWatcher, type ControlHandlers, type ControlSnapshot } from '@codio/tracker'
import type { NodeConfigSource } from './config-backend.js'
import { createFleetMetrics, type FleetMetrics } from './fleet-metrics.js'

/** What the fleet's control stream needs of a node's configuration. */
export type ClusterLayerTarget = Pick<NodeConfigSource, 'setClusterLayer'>

/**
 * The cluster layer a snapshot makes: the role's document, with the fleet's trusted and revoked
 * publisher keys added to its `trust` table (key lists add up across layers; a key revoked at
 * any layer is refused, and what only it signed is purged by the config backend).
 */
export function clusterLayerOf (s: ControlSnapshot): JsonObject {
  const trust = (typeof s.config.trust === 'object' && s.config.trust != null && !Array.isArray(s.config.trust)) ? s.config.trust : {}
  const list = (v: unknown): string[] => Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []
  if (s.trustedKeys.length === 0 && s.revokedKeys.length === 0) return s.config
  return {
    ...s.config,
    trust: {
      ...trust,
      publisherKeys: [...new Set([...list(trust.publisherKeys), ...s.trustedKeys])],
      revokedKeys: [...new Set([...list(trust.revokedKeys), ...s.revokedKeys])]
    }
  }
}

/**
 * What a node does with the tracker's control stream (`ControlService.Watch`): a snapshot
 * becomes its cluster configuration layer and its cluster bans; a purge command purges; a
 * preheat command fetches every content of the job in turn, reporting after each. With
 * `metrics`, the configuration version applied and every command's outcome are recorded.
 */
export function fleetHandlers (peer: CodioPeer, config: ClusterLayerTarget | undefined, log: Logger, metrics?: FleetMetrics): ControlHandlers {
  return {
    async state (s) {
      let applied = true
      if (config != null) {
        const r = await config.setClusterLayer(clusterLayerOf(s))
        applied = r.applied
        if (r.applied && r.changed.length > 0) log.info({ version: s.version, changed: r.changed }, 'cluster configuration applied')
      }
      // a refused document leaves the previous one, and its version, in effect
      if (applied) metrics?.configApplied(s.version)
      const { banned, skipped } = await peer.bans.setClusterBans(s.bans)
      if (skipped.length > 0) log.warn({ skipped }, 'cluster bans skipped')
      if (banned.length > 0) log.info({ banned }, 'cluster bans applied')
    },
    async purge (contentId) {
      try {
        await peer.purge(parseContentId(contentId))
      } catch (err) {
        metrics?.command('purge', 'error')
        throw err
      }
      metrics?.command('purge', 'ok')
    },
    async preheat (jobId, contentIds, report) {
      let bytesDone = 0
      let done = 0
      const total = contentIds.length
      await report({ state: 'running', contentsDone: 0, contentsTotal: total, bytesDone })
      for (const id of contentIds) {
        try {
          const r = await peer.prefetch(parseContentId(id))
          bytesDone += r.manifest.size
          done++
          await report({ state: done === total ? 'succeeded' : 'running', contentsDone: done, contentsTotal: total, bytesDone })
        } catch (err) {
          metrics?.command('preheat', 'error')
          log.warn({ jobId, contentId: id, err: (err as Error).message }, 'preheat failed')
          await report({ state: 'failed', contentsDone: done, contentsTotal: total, bytesDone, error: `${id}: ${(err as Error).message}` })
          return
        }
      }
      metrics?.command('preheat', 'ok')
    }
  }
}

/**
 * Keep this node on the tracker's control stream when it has a tracker (`tracker.url`);
 * undefined otherwise. The watcher reconnects by itself; stop it with the node. Its metrics
 * ({@link createFleetMetrics}) are registered on the peer's registry, only when there is a
 * stream to watch (a node without a tracker exports none, so no alert says it lost one).
 */
export function watchFleet (peer: CodioPeer, config: ClusterLayerTarget | undefined, log: Logger): ControlWatcher | undefined {
  const url = peer.init.tracker?.url
  if (url == null || url === '') return undefined
  const metrics = createFleetMetrics(peer.init.registry)
  const watcher = new ControlWatcher({
    url,
    peerId: peer.peerId.toString(),
    role: peer.init.role,
    tokenFile: peer.init.tracker?.tokenFile,
    handlers: fleetHandlers(peer, config, log, metrics),
    log: log.child({ component: 'fleet' })
  })
  metrics.watch(watcher)
  watcher.start()
  return watcher
}
