import { mdns as libp2pMdns, type MulticastDNSComponents } from '@libp2p/mdns'
import { CODE_P2P } from '@multiformats/multiaddr'
import type { PeerDiscovery, PeerInfo } from '@libp2p/interface'
import { MDNS_INTERVAL_MS, MDNS_SERVICE_TAG } from './constants.js'
import { InvalidOptionError } from './errors.js'
import type { Dialer } from './reconnector.js'

/** mDNS settings; `true` in {@link P2PNodeInit.mdns} means all defaults. */
export interface MdnsInit {
  /** Query interval, ms. Default 10 000. */
  interval?: number
  /** DNS-SD service name queried and answered. Default `_codio-discovery._udp.local`. */
  serviceTag?: string
}

export interface MdnsDialerComponents extends MulticastDNSComponents {
  connectionManager: Dialer & { getMaxConnections(): number }
}

/** After a failed dial, a peer found again over mDNS is not redialled for this long, ms. */
const FAILED_DIAL_QUIET_MS = 30_000

/**
 * Validate {@link MdnsInit}.
 *
 * @throws InvalidOptionError when the interval is not a positive number or the tag does not end in `.local`
 */
export function checkMdnsInit (init: MdnsInit): void {
  if (init.interval != null && !(Number.isFinite(init.interval) && init.interval > 0)) {
    throw new InvalidOptionError(`mdns.interval must be a positive number of ms, got ${init.interval}`)
  }
  if (init.serviceTag != null && !/^[A-Za-z0-9_.-]+\.local$/.test(init.serviceTag)) {
    throw new InvalidOptionError(`mdns.serviceTag must be a DNS-SD name ending in ".local", got "${init.serviceTag}"`)
  }
}

/**
 * libp2p peer discovery over multicast DNS (RFC 6762; libp2p mDNS discovery spec) that also
 * dials what it finds: libp2p 3 has no auto-dialer, so a peer discovered on the LAN is otherwise
 * only recorded. A discovered peer is dialled when it is not connected, no dial to it is in
 * flight, it did not fail a dial in the last 30 s, and the node is below `maxConnections` (so
 * discovery never pushes the node over its limit; `maxConnections` is the node's limit, default the
 * connection manager's). Answers carry only private and loopback
 * addresses (spec); the responder's addresses are those the node listens on or announces.
 */
export function mdnsDiscovery (init: MdnsInit = {}, maxConnections?: number): (components: MdnsDialerComponents) => PeerDiscovery {
  checkMdnsInit(init)
  const create = libp2pMdns({
    interval: init.interval ?? MDNS_INTERVAL_MS,
    serviceTag: init.serviceTag ?? MDNS_SERVICE_TAG
  })
  return components => {
    const discovery = create(components)
    const log = components.logger.forComponent('codio:p2p:mdns')
    const cm = components.connectionManager
    const dialing = new Set<string>()
    const failedAt = new Map<string, number>()

    const dial = async (peer: PeerInfo): Promise<void> => {
      const key = peer.id.toString()
      if (dialing.has(key) || cm.getConnections(peer.id).length > 0) return
      if (Date.now() - (failedAt.get(key) ?? 0) < FAILED_DIAL_QUIET_MS) return
      if (cm.getConnections().length >= (maxConnections ?? cm.getMaxConnections())) {
        log('not dialling %p found over mDNS: at the connection limit', peer.id)
        return
      }
      const addrs = peer.multiaddrs.map(ma =>
        ma.getComponents().some(c => c.code === CODE_P2P) ? ma : ma.encapsulate(`/p2p/${key}`))
      if (addrs.length === 0) return
      dialing.add(key)
      try {
        await cm.openConnection(addrs, { signal: AbortSignal.timeout(10_000) })
        failedAt.delete(key)
        log('connected to %p found over mDNS', peer.id)
      } catch (err: any) {
        if (failedAt.size > 1024) failedAt.clear()
        failedAt.set(key, Date.now())
        log('could not dial %p found over mDNS: %s', peer.id, err?.message)
      } finally {
        dialing.delete(key)
      }
    }

    discovery.addEventListener('peer', evt => { void dial(evt.detail) })
    return discovery
  }
}
