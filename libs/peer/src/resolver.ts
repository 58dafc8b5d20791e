import { decodeManifest, verifyManifest, type Manifest } from '@codio/content'
import { withSpan } from '@codio/tracing'
import { peerTracer } from './download-trace.js'
import { ContentNotFoundError, ManifestUnavailableError } from './errors.js'
import { DEFAULT_LOOKUP_TIMEOUT_MS, type ProviderSearches } from './provider-searches.js'
import type { ChunkExchange } from '@codio/exchange'
import type { TrustedKeys } from '@codio/signing'
import type { BlockStore } from '@codio/store'
import type { PeerId } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import type { ProviderSearch } from './provider-search.js'

/** Head start a provider gets before the next one is also asked for a manifest (ms). */
export const MANIFEST_HEDGE_MS = 300

/** A resolved content: its verified manifest and the provider lookup still feeding peers. */
export interface ResolvedContent {
  contentId: CID
  manifest: Manifest
  /** True when every chunk is already in the local store. */
  local: boolean
  search?: ProviderSearch
}

export interface ResolverComponents {
  store: Pick<BlockStore, 'get' | 'put' | 'hasContent'>
  exchange: Pick<ChunkExchange, 'fetch'>
  searches: ProviderSearches
}

/** Read at every resolution, so that a reconfiguration applies to the next one. */
export interface ResolverInit {
  /** Longest provider lookup (ms). Default {@link DEFAULT_LOOKUP_TIMEOUT_MS}. */
  lookupTimeoutMs?: number
  /** Publisher keys whose manifests are accepted. */
  trustedKeys: TrustedKeys
}

/**
 * Manifest resolution: a content ID to its verified manifest, from the local store or from
 * the providers a lookup names, with concurrent resolutions of one content sharing one lookup.
 * Nothing unverified is stored.
 */
export class Resolver {
  private readonly resolving = new Map<string, Promise<ResolvedContent>>()

  constructor (private readonly components: ResolverComponents, private readonly init: ResolverInit) {}

  /**
   * The verified manifest of `contentId`: from the local store, else from the first provider
   * the lookup names that delivers it (span `peer.resolve`).
   *
   * @throws ContentNotFoundError no provider within the lookup time limit
   * @throws ManifestUnavailableError providers found, none delivered the manifest
   * @throws ManifestDecodeError, UntrustedPublisherError, InvalidSignatureError (from @codio/content)
   */
  async resolve (contentId: CID, signal?: AbortSignal): Promise<ResolvedContent> {
    const key = contentId.toString()
    let pending = this.resolving.get(key)
    if (pending == null) {
      pending = withSpan(peerTracer, 'peer.resolve', { attributes: { 'codio.content.id': key } }, async span => {
        const resolved = await this.doResolve(contentId, signal)
        span.setAttribute('codio.content.local', resolved.local)
        return resolved
      }).finally(() => this.resolving.delete(key))
      this.resolving.set(key, pending)
    }
    return pending
  }

  private async doResolve (contentId: CID, signal?: AbortSignal): Promise<ResolvedContent> {
    const { store, searches } = this.components
    const stored = await store.get(contentId)
    if (stored != null) {
      const manifest = await this.verifiedManifest(stored)
      return { contentId, manifest, local: await store.hasContent(contentId) }
    }
    const timeoutMs = this.init.lookupTimeoutMs ?? DEFAULT_LOOKUP_TIMEOUT_MS
    const search = searches(contentId, { timeoutMs, signal })
    const bytes = await withSpan(peerTracer, 'manifest.fetch', {}, async span => {
      const b = await this.fetchManifest(contentId, search, timeoutMs, signal)
      span.setAttribute('codio.manifest.bytes', b.byteLength)
      return b
    })
    const manifest = await this.verifiedManifest(bytes)
    await store.put(contentId, bytes)
    return { contentId, manifest, local: false, search }
  }

  /** Decode and check the signature of a manifest block (span `manifest.verify`). */
  private async verifiedManifest (bytes: Uint8Array): Promise<Manifest> {
    return await withSpan(peerTracer, 'manifest.verify', {}, async span => {
      const manifest = decodeManifest(bytes)
      await verifyManifest(manifest, this.init.trustedKeys)
      span.setAttributes({ 'codio.content.size': manifest.size, 'codio.content.chunks': manifest.chunks.length })
      return manifest
    })
  }

  /**
   * The manifest block from whichever provider answers first, with hedged requests (Dean &
   * Barroso, "The Tail at Scale", 2013): the next provider is asked as soon as the previous
   * one fails or has not answered within {@link MANIFEST_HEDGE_MS}, so a dead provider (whose
   * dial may hang for seconds) costs a few hundred milliseconds, not a timeout. A late
   * provider, or the last one known failing, also sends the lookup on to its next source
   * ({@link ProviderSearch.more}): the peers a forged tracker answer names cannot keep the
   * connected peers and the DHT from being asked. The answer comes within the lookup time
   * limit (`timeoutMs`), whatever a provider still holds: when the lookup ends, every open
   * request is cancelled.
   */
  private async fetchManifest (contentId: CID, search: ProviderSearch, timeoutMs: number, signal?: AbortSignal): Promise<Uint8Array> {
    const stop = new AbortController()
    const fetchSignal = signal == null ? stop.signal : AbortSignal.any([signal, stop.signal])
    return await new Promise<Uint8Array>((resolve, reject) => {
      const queue: PeerId[] = []
      let pending = 0
      let tried = 0
      let exhausted = false
      let wantMore = false
      let settled = false
      let lastError: Error | undefined
      const settle = (err: Error | undefined, bytes?: Uint8Array): void => {
        if (settled) return
        settled = true
        // the losers are cancelled; the lookup goes on feeding providers to the download
        stop.abort()
        if (err != null) {
          search.abort()
          reject(err)
        } else {
          resolve(bytes!)
        }
      }
      const giveUpIfDone = (): void => {
        // the lookup's time is up: a provider still holding its request (one that accepts and
        // stalls) does not hold the answer past the lookup limit
        if (!exhausted || queue.length > 0) return
        settle(tried === 0
          ? new ContentNotFoundError(`no provider of ${contentId} found within ${timeoutMs} ms`)
          : new ManifestUnavailableError(`${tried} provider(s) of ${contentId} found, none delivered its manifest${pending > 0 ? ` (${pending} still silent)` : ''}: ${lastError?.message ?? 'no answer'}`, { cause: lastError }))
      }
      const launch = (): void => {
        if (settled) return
        const peer = queue.shift()
        if (peer == null) {
          wantMore = true
          // every provider named so far failed or stalls: the lookup goes on to its next source
          search.more()
          giveUpIfDone()
          return
        }
        wantMore = false
        tried++
        pending++
        let hedged = false
        // a provider late to answer (a dial to a made-up address, a holder that stalls): the next
        // one is asked, and the lookup goes on to its next source meanwhile
        const timer = setTimeout(() => { hedged = true; search.more(); launch() }, MANIFEST_HEDGE_MS)
        this.components.exchange.fetch(peer, contentId, { signal: fetchSignal }).then(
          bytes => { settle(undefined, bytes) },
          (err: Error) => {
            lastError = err
            if (!hedged) launch()
          }
        ).finally(() => {
          clearTimeout(timer)
          pending--
          giveUpIfDone()
        })
      }
      void (async () => {
        for await (const peer of search.providers({ follow: true })) {
          if (settled) return
          queue.push(peer)
          if (pending === 0 || wantMore) launch()
        }
        exhausted = true
        giveUpIfDone()
      })()
    })
  }
}
