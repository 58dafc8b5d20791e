import type { Libp2p, PeerId } from '@libp2p/interface'

/** The role a Codio node tells in its identify agent version, `unknown` for anything else. */
export type PeerRole = 'origin' | 'relay' | 'edge' | 'unknown'

const AGENT = /^codio-(origin|relay|edge)\//

/** The identify agent version of a Codio node: `codio-<role>/<version>`. */
export function codioUserAgent (role: Exclude<PeerRole, 'unknown'>, version = '0.0.0'): string {
  return `codio-${role}/${version}`
}

/**
 * The roles of the connected peers, learned from the agent version identify (libp2p's
 * `/ipfs/id/1.0.0`) reports for each (see {@link codioUserAgent}), so that transfer metrics can
 * say which bytes came from an origin. A synchronous lookup for the data path; a peer is
 * forgotten when its last connection closes.
 */
export class PeerRoles {
  private readonly roles = new Map<string, PeerRole>()

  constructor (node: Pick<Libp2p, 'addEventListener'>) {
    node.addEventListener('peer:identify', (evt) => {
      const m = AGENT.exec(evt.detail.agentVersion ?? '')
      this.roles.set(evt.detail.peerId.toString(), (m?.[1] as PeerRole | undefined) ?? 'unknown')
    })
    node.addEventListener('peer:disconnect', (evt) => { this.roles.delete(evt.detail.toString()) })
  }

  /** The role `peer` identified as; `unknown` when it did not (yet) or is not a Codio node. */
  of (peer: PeerId | string): PeerRole {
    return this.roles.get(peer.toString()) ?? 'unknown'
  }
}
