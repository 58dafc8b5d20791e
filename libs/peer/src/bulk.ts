import type { BulkChannelInit } from '@codio/exchange'
import { multiaddr } from '@multiformats/multiaddr'

/** The `[p2p] bulk` settings (see `p2pConfigSchema` in @codio/node-config). */
export interface BulkSettings {
  enabled: boolean
  host?: string
  port: number
}

/**
 * The exchange's bulk channel init from the settings: `undefined` when it is off; its host the
 * one given, else the address of the first IPv4/IPv6 TCP multiaddr in `listen`, else `0.0.0.0`;
 * `onFallback` told of each peer left to libp2p streams.
 */
export function bulkChannelInit (settings: BulkSettings | undefined, listen: string[] = [], onFallback?: BulkChannelInit['onFallback']): BulkChannelInit | undefined {
  if (settings?.enabled === false) return undefined
  return { host: settings?.host ?? listenHost(listen) ?? '0.0.0.0', port: settings?.port ?? 0, onFallback }
}

function listenHost (listen: string[]): string | undefined {
  for (const addr of listen) {
    let parts
    try {
      parts = multiaddr(addr).getComponents()
    } catch {
      continue
    }
    if ((parts[0]?.name === 'ip4' || parts[0]?.name === 'ip6') && parts[1]?.name === 'tcp') return parts[0].value
  }
  return undefined
}
