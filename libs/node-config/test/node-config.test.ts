import { describe, it, expect } from '@jest/globals'
import { ConfigError, RestartRequiredError } from '@codio/config'
import { checkClusterUpdate, isLiveKey, LIVE_KEYS, roleConfigSchemas } from '../src/index.js'

describe('@codio/node-config', () => {
  it('has a schema per role, each accepting the file spellings', () => {
    expect(roleConfigSchemas.edge.parse({ swarm: { maxDownloadRate: '10MB' } }).swarm.maxDownloadRate).toBe(10_000_000)
    expect(roleConfigSchemas.relay.parse({}).prefetch).toEqual([])
    expect(roleConfigSchemas.origin.parse({ ingest: { fec: 'none' } }).ingest.fec).toBe('none')
    expect(roleConfigSchemas.edge.parse({}).trust).toEqual({ publisherKeys: [], revokedKeys: [] })
  })

  it('names live keys per role; every live key is a setting of the role', () => {
    expect(isLiveKey('origin', 'ingest.fec')).toBe(true)
    expect(isLiveKey('edge', 'ingest.fec')).toBe(false)
    expect(isLiveKey('edge', 'http.port')).toBe(false)
    for (const role of ['edge', 'relay', 'origin'] as const) {
      for (const key of LIVE_KEYS) expect(() => checkClusterUpdate(role, {}, {}, [key])).not.toThrow()
    }
  })

  it('checkClusterUpdate returns the new document or every error at once', () => {
    const doc = checkClusterUpdate('edge', { fetch: { streamingWindow: 4 } }, { swarm: { maxUploadRate: '10MB' } }, [])
    expect(doc).toEqual({ fetch: { streamingWindow: 4 }, swarm: { maxUploadRate: '10MB' } })
    expect(checkClusterUpdate('edge', doc, {}, ['fetch.streamingWindow'])).toEqual({ swarm: { maxUploadRate: '10MB' } })
    expect(checkClusterUpdate('origin', {}, { ingest: { fec: '4+2' } }, [])).toEqual({ ingest: { fec: '4+2' } })

    let err: unknown
    try { checkClusterUpdate('edge', {}, { swarm: { maxUploadRate: 'lots' }, fetch: { strategy: 'fastest' }, nope: 1 }, []) } catch (e) { err = e }
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as ConfigError).issues.map(i => i.path).sort()).toEqual(['fetch.strategy', 'nope', 'swarm.maxUploadRate'])

    try { checkClusterUpdate('relay', {}, { http: { port: 1 }, p2p: { quic: false } }, []) } catch (e) { err = e }
    expect(err).toBeInstanceOf(RestartRequiredError)
    expect((err as RestartRequiredError).keys.sort()).toEqual(['http.port', 'p2p.quic'])
    expect(() => checkClusterUpdate('origin', {}, { ingest: { fec: '300+1' } }, [])).toThrow(ConfigError)
  })
})
