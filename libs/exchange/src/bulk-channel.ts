import { once } from 'node:events'
import { connect, createServer, type Server, type TLSSocket } from 'node:tls'
import { PeerCertificates } from '@codio/p2p'
import { lpStream } from '@libp2p/utils'
import type { ComponentLogger, Connection, Logger, PeerId, PrivateKey } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { raceSignal } from './race-signal.js'

/** libp2p protocol on which a peer tells the port of its bulk channel (one 2-byte big-endian port, length-prefixed; 0: none). */
export const BULK_PROTOCOL = '/codio/bulk/1.0.0'

/** TLS ALPN protocol of a bulk channel connection: block exchange messages, as on `/codio/chunk/1.0.0`. */
export const BULK_ALPN = 'codio-chunk/1'

/** How long a peer whose bulk channel could not be reached is asked over libp2p streams instead (ms). */
export const BULK_RETRY_MS = 60_000

/** Longest wait for a peer's bulk channel to accept the TCP connection and finish the TLS handshake, before libp2p streams are used (ms). */
export const BULK_CONNECT_TIMEOUT_MS = 5_000

/** Longest TLS handshake of an inbound bulk connection (ms). */
export const BULK_HANDSHAKE_TIMEOUT_MS = 10_000

/** Bulk connections this node accepts at once, from all peers together. */
export const MAX_BULK_CONNECTIONS = 1024

/**
 * Why a peer is asked over libp2p streams instead of its bulk channel: `relayed` (reached only
 * through a relay), `unsupported` (it has no bulk channel), `connect` (its port did not take a
 * TCP connection and a TLS handshake within {@link BULK_CONNECT_TIMEOUT_MS}), `certificate` (its
 * certificate named another peer, or none).
 */
export type BulkFallbackReason = 'relayed' | 'unsupported' | 'connect' | 'certificate'

/** Every {@link BulkFallbackReason}, for zero-initialised metrics. */
export const BULK_FALLBACK_REASONS: readonly BulkFallbackReason[] = ['relayed', 'unsupported', 'connect', 'certificate']

export interface BulkChannelInit {
  /** Address the bulk channel listens on. Default `127.0.0.1`. */
  host?: string
  /** TCP port; 0 takes any free one. Default 0. */
  port?: number
  /** Called when a peer is left to libp2p streams for {@link BULK_RETRY_MS} (for metrics). */
  onFallback?(peer: PeerId, reason: BulkFallbackReason): void
}

export interface BulkChannelComponents {
  privateKey: PrivateKey
  logger: ComponentLogger
  registrar: Registrar
  connectionManager: ConnectionManager
}

/** Where a peer's bulk channel is, or until when it is not tried. */
type Endpoint = { host: string, port: number } | { retryAt: number }

/**
 * The bulk channel: block requests and pieces on a direct TLS 1.3 connection between two peers
 * (OpenSSL's AES-GCM, no stream muxer), instead of a Yamux stream inside a Noise-encrypted
 * libp2p connection, which cost about three times the CPU per byte (`npm run bench:transport`).
 * Both ends prove their peer IDs the way the libp2p TLS spec binds a certificate to one
 * (libp2p specs: tls/tls.md; {@link PeerCertificates}): the dialer checks that the certificate
 * names the peer it meant, the listener learns who dialed from theirs. libp2p still finds the
 * peer, and tells where the channel listens: the host the libp2p connection reached, the port
 * the peer gives on {@link BULK_PROTOCOL}. A peer reached only through a relay, one without a
 * bulk channel, or one whose channel cannot be reached is asked over libp2p streams.
 */
export class BulkChannel {
  private readonly log: Logger
  private readonly certificates: PeerCertificates
  private server?: Server
  private readonly sockets = new Set<TLSSocket>()
  private readonly endpoints = new Map<string, Endpoint>()

  /** `onInbound` takes each verified inbound connection with the peer it proved to be. */
  constructor (private readonly components: BulkChannelComponents, private readonly init: BulkChannelInit,
    private readonly onInbound: (socket: TLSSocket, peer: PeerId) => void) {
    this.log = components.logger.forComponent('codio:bulk-channel')
    this.certificates = new PeerCertificates(components.privateKey, this.log)
  }

  /** The port listened on (0 before start). */
  get port (): number {
    const addr = this.server?.address()
    return addr != null && typeof addr === 'object' ? addr.port : 0
  }

  async start (): Promise<void> {
    const server = createServer({
      ...await this.certificates.own(),
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      // self-signed: the libp2p extension, not a CA, says whose a certificate is
      requestCert: true,
      rejectUnauthorized: false,
      ALPNProtocols: [BULK_ALPN],
      handshakeTimeout: BULK_HANDSHAKE_TIMEOUT_MS
    }, socket => { this.accept(socket) })
    server.maxConnections = MAX_BULK_CONNECTIONS
    server.on('tlsClientError', (err) => { this.log('inbound handshake failed - %e', err) })
    server.listen(this.init.port ?? 0, this.init.host ?? '127.0.0.1')
    await once(server, 'listening')
    this.server = server
    const port = this.port
    await this.components.registrar.handle(BULK_PROTOCOL, (stream) => {
      const lp = lpStream(stream)
      lp.write(Uint8Array.of(port >> 8, port & 0xff)).then(async () => { await stream.close() }).catch((err: Error) => { stream.abort(err) })
    })
  }

  async stop (): Promise<void> {
    await this.components.registrar.unhandle(BULK_PROTOCOL)
    for (const s of this.sockets) s.destroy()
    this.sockets.clear()
    const server = this.server
    this.server = undefined
    if (server != null) await new Promise<void>(resolve => { server.close(() => { resolve() }) })
  }

  /**
   * A verified bulk connection to `peer`, or `undefined` when it has none this node can use (the
   * caller then asks over a libp2p stream). Learning where it listens takes the libp2p
   * connection the fallback would need anyway, within the caller's `signal`; the TCP connect and
   * TLS handshake after it must finish within {@link BULK_CONNECT_TIMEOUT_MS}. A channel that
   * cannot be used is not tried for {@link BULK_RETRY_MS}.
   *
   * @throws the signal's reason when it aborts first
   */
  async dial (peer: PeerId, signal: AbortSignal): Promise<TLSSocket | undefined> {
    let step = 'asking where it listens'
    let reason: BulkFallbackReason = 'unsupported'
    try {
      const endpoint = await this.endpoint(peer, signal)
      if (endpoint == null) return undefined
      step = `connecting to ${endpoint.host}:${endpoint.port}`
      reason = 'connect'
      const socket = connect({
        ...endpoint,
        ...await this.certificates.own(),
        minVersion: 'TLSv1.3',
        maxVersion: 'TLSv1.3',
        rejectUnauthorized: false,
        ALPNProtocols: [BULK_ALPN]
      })
      this.track(socket)
      try {
        await raceSignal(once(socket, 'secureConnect'), AbortSignal.any([signal, AbortSignal.timeout(BULK_CONNECT_TIMEOUT_MS)]))
        step = 'checking its certificate'
        reason = 'certificate'
        const raw = socket.getPeerCertificate().raw
        if (raw == null) throw new Error('the peer sent no certificate')
        await this.certificates.verify(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength), peer)
      } catch (err) {
        socket.destroy()
        throw err
      }
      socket.setNoDelay(true)
      return socket
    } catch (err: any) {
      if (signal.aborted) throw signal.reason
      this.log('no bulk channel to %p (%s), libp2p streams for %d ms - %e', peer, step, BULK_RETRY_MS, err)
      this.endpoints.set(peer.toString(), { retryAt: Date.now() + BULK_RETRY_MS })
      this.init.onFallback?.(peer, reason)
      return undefined
    }
  }

  /** Where `peer`'s bulk channel listens, asked once per peer; undefined: none to use now. */
  private async endpoint (peer: PeerId, signal: AbortSignal): Promise<{ host: string, port: number } | undefined> {
    const known = this.endpoints.get(peer.toString())
    if (known != null) {
      if (!('retryAt' in known)) return known
      if (Date.now() < known.retryAt) return undefined
    }
    const connection = await this.components.connectionManager.openConnection(peer, { signal })
    const host = directHost(connection)
    if (host == null) {
      this.endpoints.set(peer.toString(), { retryAt: Date.now() + BULK_RETRY_MS })
      this.init.onFallback?.(peer, 'relayed')
      return undefined
    }
    const stream = await connection.newStream(BULK_PROTOCOL, { signal })
    const reply = (await lpStream(stream).read({ signal })).subarray()
    await stream.close().catch(() => {})
    if (reply.byteLength !== 2) throw new Error(`bad ${BULK_PROTOCOL} reply of ${reply.byteLength} bytes`)
    const port = (reply[0] << 8) | reply[1]
    if (port === 0) throw new Error('the peer has no bulk channel')
    const endpoint = { host, port }
    this.endpoints.set(peer.toString(), endpoint)
    return endpoint
  }

  private accept (socket: TLSSocket): void {
    this.track(socket)
    socket.setNoDelay(true)
    const raw = socket.getPeerCertificate().raw
    if (socket.alpnProtocol !== BULK_ALPN || raw == null) {
      this.log('inbound bulk connection without %s or a certificate', BULK_ALPN)
      socket.destroy()
      return
    }
    this.certificates.verify(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength)).then(peer => {
      if (socket.destroyed) return
      this.onInbound(socket, peer)
    }, (err: Error) => {
      this.log('inbound bulk certificate refused - %e', err)
      socket.destroy()
    })
  }

  private track (socket: TLSSocket): void {
    this.sockets.add(socket)
    socket.once('close', () => { this.sockets.delete(socket) })
    // errors reach whoever reads the socket; this keeps an unread one from crashing the process
    socket.on('error', () => {})
  }
}

/** The IP address a direct, unlimited libp2p connection reached, or undefined (a relayed one). */
function directHost (connection: Connection): string | undefined {
  if (!connection.direct || connection.limits != null) return undefined
  const ip = connection.remoteAddr.getComponents().find(c => c.name === 'ip4' || c.name === 'ip6')
  return ip?.value
}
