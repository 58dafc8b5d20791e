import { TLSSocket, connect, type ConnectionOptions } from 'node:tls'
import { InvalidCryptoExchangeError, serviceCapabilities } from '@libp2p/interface'
import { toMessageStream, toNodeDuplex } from '@libp2p/tls/utils'
import { PeerCertificates } from './peer-certificates.js'
import type {
  ComponentLogger, ConnectionEncrypter, Logger, MessageStream, PrivateKey, SecureConnectionOptions,
  SecuredConnection, StreamMuxerFactory, Upgrader
} from '@libp2p/interface'

/** Protocol id of libp2p's TLS handshake (libp2p specs: tls/tls.md). */
export const TLS_PROTOCOL = '/tls/1.0.0'

export interface TlsComponents {
  privateKey: PrivateKey
  logger: ComponentLogger
  upgrader: Upgrader
}

/**
 * libp2p's TLS 1.3 handshake (the libp2p TLS spec: a self-signed certificate carrying the host
 * key's signature over the certificate key, checked both ways; muxer chosen by ALPN), as
 * `@libp2p/tls` does it — with its certificate and checks from `@libp2p/tls/utils`, on the wire
 * the same, interoperable with it — but without its per-connection cost: `@libp2p/tls` makes a
 * new certificate for every connection (a P-256 key and an X.509 certificate built in
 * JavaScript, 3.2 ms of CPU) and checks the remote one in JavaScript (1.9 ms), so a TLS
 * handshake cost 14–16 ms of CPU over both ends against Noise's 6–8. Here a node makes its
 * certificate once (the spec: endpoints "MAY reuse the same key and certificate for multiple
 * connections") and remembers the certificates it has checked, by their SHA-256, for as long as
 * they are valid: a repeated certificate proves its key again in the handshake itself
 * (CertificateVerify), so the check of its libp2p extension need not run twice.
 */
export class CachingTls implements ConnectionEncrypter {
  readonly protocol = TLS_PROTOCOL
  readonly [Symbol.toStringTag] = '@codio/tls'
  readonly [serviceCapabilities]: string[] = ['@libp2p/connection-encryption']
  private readonly log: Logger
  private readonly certificates: PeerCertificates

  constructor (private readonly components: TlsComponents) {
    this.log = components.logger.forComponent('codio:tls')
    this.certificates = new PeerCertificates(components.privateKey, this.log)
  }

  /** Remote certificates whose check is remembered now. */
  get rememberedCertificates (): number {
    return this.certificates.remembered
  }

  async secureInbound (connection: MessageStream, options?: SecureConnectionOptions): Promise<SecuredConnection> {
    return await this.encrypt(connection, true, options)
  }

  async secureOutbound (connection: MessageStream, options?: SecureConnectionOptions): Promise<SecuredConnection> {
    return await this.encrypt(connection, false, options)
  }

  private async encrypt (connection: MessageStream, isServer: boolean, options?: SecureConnectionOptions): Promise<SecuredConnection> {
    const muxers = options?.skipStreamMuxerNegotiation === true ? [] : [...this.components.upgrader.getStreamMuxers().keys()]
    let streamMuxer: StreamMuxerFactory | undefined
    const opts: ConnectionOptions = {
      ...await this.certificates.own(),
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      // self-signed: the libp2p extension, not a CA, says whose the certificate is
      rejectUnauthorized: false,
      // early muxer negotiation (the spec's ALPN): `libp2p` when none is shared
      ALPNProtocols: [...muxers, 'libp2p']
    }
    const duplex = toNodeDuplex(connection)
    const socket = isServer
      ? new TLSSocket(duplex, {
        ...opts,
        isServer: true,
        requestCert: true,
        ALPNCallback: ({ protocols }) => {
          let chosen: string | undefined
          for (const p of protocols) {
            if (p === 'libp2p') chosen = 'libp2p'
            streamMuxer = this.components.upgrader.getStreamMuxers().get(p)
            if (streamMuxer != null) return p
          }
          return chosen
        }
      })
      : connect({ socket: duplex, ...opts })
    duplex.on('error', err => socket.emit('error', err))
    const onAbort = (): void => { socket.emit('error', Object.assign(new Error('Handshake timeout'), { name: 'HandshakeTimeoutError' })) }
    options?.signal?.addEventListener('abort', onAbort)
    try {
      return await new Promise<SecuredConnection>((resolve, reject) => {
        socket.on('error', (err: Error) => {
          this.log.error('error encrypting %s connection - %e', connection.direction, err)
          socket.destroy()
          connection.abort(err)
          reject(err)
        })
        socket.once('secure', () => {
          const raw = socket.getPeerCertificate().raw
          if (raw == null) {
            socket.emit('error', new InvalidCryptoExchangeError('the remote sent no certificate'))
            return
          }
          this.certificates.verify(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength), options?.remotePeer).then(remotePeer => {
            if (!isServer && typeof socket.alpnProtocol === 'string' && socket.alpnProtocol !== 'libp2p' && options?.skipStreamMuxerNegotiation !== true) {
              streamMuxer = this.components.upgrader.getStreamMuxers().get(socket.alpnProtocol)
              if (streamMuxer == null) {
                socket.emit('error', new InvalidCryptoExchangeError(`selected muxer ${socket.alpnProtocol} does not exist`))
                return
              }
            }
            resolve({ remotePeer, connection: toMessageStream(connection, socket), streamMuxer })
          }, (err: Error) => socket.emit('error', err))
        })
      })
    } finally {
      options?.signal?.removeEventListener('abort', onAbort)
    }
  }
}

/** {@link CachingTls} as a libp2p `connectionEncrypters` entry. */
export function cachingTls (): (components: TlsComponents) => ConnectionEncrypter {
  return (components) => new CachingTls(components)
}
