/**
 * @packageDocumentation
 * The libp2p test-node factory every package's tests share (`@codio/p2p/testing`; not part of
 * the main entry point, so production code never loads it).
 *
 * @example
 * ```ts
 * import { startTestNode, stopTestNodes } from '@codio/p2p/testing'
 * const nodes: P2PNode<any>[] = []
 * const seed = await startTestNode<{ exchange: ChunkExchange }>({ services: { exchange: chunkExchange({ blocks }) } }, nodes)
 * const peer = await startTestNode({ bootstrap: [seed.getMultiaddrs()[0].toString()] }, nodes)
 * afterAll(async () => { await stopTestNodes(nodes) })
 * ```
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { ServiceMap } from '@libp2p/interface'
import { createP2PNode, type P2PNode, type P2PNodeInit } from './create-node.js'

/**
 * A started Codio node for a test: {@link createP2PNode} with `init` on top of two test
 * defaults, a fresh Ed25519 key (unless `init.privateKey`) and no QUIC (unless `init.quic`), so
 * it listens on loopback TCP only, on an OS-chosen port.
 *
 * @param init any node options; `services` adds libp2p services (their types give `S`)
 * @param track when given, the started node is pushed onto it (for {@link stopTestNodes})
 * @throws whatever {@link createP2PNode} throws (InvalidMultiaddrError, InvalidOptionError) or libp2p's start
 */
export async function startTestNode<S extends ServiceMap = Record<never, never>> (init: Partial<P2PNodeInit<S>> = {}, track?: Array<P2PNode<any>>): Promise<P2PNode<S>> {
  const node = await createP2PNode<S>({ ...init, privateKey: init.privateKey ?? await generateKeyPair('Ed25519'), quic: init.quic ?? false })
  await node.start()
  track?.push(node)
  return node
}

/** Stops every node in `nodes` at once, waits for all of them (a failed stop does not throw), then empties the array. */
export async function stopTestNodes (nodes: Array<P2PNode<any>>): Promise<void> {
  await Promise.allSettled(nodes.map(async n => { await n.stop() }))
  nodes.length = 0
}
