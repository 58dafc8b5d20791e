import { createHash, X509Certificate } from 'node:crypto'
import { UnexpectedPeerError } from '@libp2p/interface'
import { generateCertificate, verifyPeerCertificate } from '@libp2p/tls/utils'
import type { Logger, PeerId, PrivateKey } from '@libp2p/interface'

/** Remote certificates whose check is remembered, at most (the oldest is forgotten first). */
export const VERIFIED_CERTIFICATES = 1024

/** A remote certificate already checked: whose it is, and until when it is valid (ms since the epoch). */
interface Verified { peer: PeerId, notBefore: number, notAfter: number }

/**
 * The certificates of the libp2p TLS spec (libp2p specs: tls/tls.md): this node's own — a
 * self-signed X.509 certificate carrying the host key's signature over the certificate's key —
 * made once (the spec: endpoints "MAY reuse the same key and certificate for multiple
 * connections"), and the check of a remote one, remembered by the certificate's SHA-256 for as
 * long as it is valid: a repeated certificate proves its key again in the TLS handshake itself
 * (CertificateVerify), so the check of its libp2p extension need not run twice. Making a
 * certificate costs about 3 ms of CPU, checking one about 2 ms (both in JavaScript, in
 * `@libp2p/tls/utils`). Shared by {@link CachingTls} and the exchange's bulk channel.
 */
export class PeerCertificates {
  private certificate?: Promise<{ cert: string, key: string }>
  /** remote certificates checked, by SHA-256 of their DER bytes, oldest first */
  private readonly verified = new Map<string, Verified>()

  constructor (private readonly privateKey: PrivateKey, private readonly log?: Logger) {}

  /** Remote certificates whose check is remembered now. */
  get remembered (): number {
    return this.verified.size
  }

  /** This node's certificate and its key (PEM), made on first use; a failed attempt is not kept. */
  async own (): Promise<{ cert: string, key: string }> {
    if (this.certificate == null) {
      const made = generateCertificate(this.privateKey)
      this.certificate = made
      made.catch(() => { if (this.certificate === made) this.certificate = undefined })
    }
    return await this.certificate
  }

  /**
   * The peer a remote certificate (DER) names, checked as the libp2p TLS spec says (validity,
   * self-signature, the libp2p extension's signature by the host key), or remembered from an
   * earlier check while the certificate is valid.
   *
   * @throws InvalidCertificateError, InvalidCryptoExchangeError, UnexpectedPeerError (it names
   *   another peer than `expected`)
   */
  async verify (raw: Uint8Array, expected?: PeerId): Promise<PeerId> {
    const key = createHash('sha256').update(raw).digest('base64')
    const known = this.verified.get(key)
    const now = Date.now()
    if (known != null && known.notBefore <= now && now <= known.notAfter) {
      if (expected != null && !expected.equals(known.peer)) throw new UnexpectedPeerError()
      return known.peer
    }
    const peer = await verifyPeerCertificate(raw, expected, this.log)
    const x509 = new X509Certificate(raw)
    this.verified.delete(key)
    this.verified.set(key, { peer, notBefore: x509.validFromDate.getTime(), notAfter: x509.validToDate.getTime() })
    if (this.verified.size > VERIFIED_CERTIFICATES) this.verified.delete(this.verified.keys().next().value!)
    return peer
  }
}
