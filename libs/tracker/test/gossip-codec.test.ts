import { describe, expect, it } from '@jest/globals'
import { create, toBinary } from '@bufbuild/protobuf'
import { AvailabilitySchema, MetricsReportSchema } from '@codio/proto'
import { Bitfield } from '@codio/bitfield'
import { MalformedGossipError } from '../src/errors.js'
import { decodeAvailability, decodeGossip, decodeMetrics, encodeAvailability, encodeMetrics } from '../src/gossip-codec.js'
import { availabilitySubject, metricsSubject, parseGossipSubject } from '../src/subjects.js'
import { contentId, peerId } from './helpers.js'

const me = peerId()
const other = peerId()
const cidA = contentId()
const cidB = contentId()

describe('gossip codec', () => {
  it('round-trips availability, sending complete contents without a bitfield', () => {
    const partialBits = new Bitfield(20)
    partialBits.set(0)
    partialBits.set(19)
    const partial = partialBits.toBytes()
    const bytes = encodeAvailability({
      peerId: me,
      multiaddrs: ['/ip4/127.0.0.1/tcp/4001'],
      roles: ['edge'],
      contents: [
        { contentId: cidA, chunkCount: 20, bitfield: partial },
        { contentId: cidB, chunkCount: 1000, bitfield: Bitfield.full(1000).toBytes() },
        { contentId: contentId(), chunkCount: 8, bitfield: new Bitfield(8).toBytes() }
      ],
      sequence: 7,
      timestampMs: 1_700_000_000_123
    })
    expect(bytes.length).toBeLessThan(250) // the full 1000-chunk bitfield (125 bytes) is not sent
    const u = decodeAvailability(bytes)
    expect(u.peerId).toBe(me)
    expect(u.sequence).toBe(7)
    expect(u.timestampMs).toBe(1_700_000_000_123)
    expect(u.contents).toHaveLength(2) // holding no chunk is not holding
    expect(u.contents[0]).toEqual({ contentId: cidA, chunkCount: 20, haveCount: 2, complete: false, bitfield: partial })
    expect(u.contents[1]).toMatchObject({ contentId: cidB, chunkCount: 1000, haveCount: 1000, complete: true })
    expect(u.contents[1].bitfield).toHaveLength(0)
  })

  it('round-trips metrics with observations', () => {
    const u = decodeMetrics(encodeMetrics({
      peerId: me,
      uptimeSeconds: 3600.5,
      chunksServed: 100,
      chunksFailed: 10,
      bytesServed: 100 * 2 ** 20,
      observations: [{ peerId: other, bytesPerSecond: 12.5e6, failures: 1, successes: 40 }],
      sequence: 8,
      timestampMs: 1_700_000_000_456
    }))
    expect(u).toEqual({
      peerId: me,
      uptimeSeconds: 3600.5,
      chunksServed: 100,
      chunksFailed: 10,
      bytesServed: 100 * 2 ** 20,
      observations: [{ peerId: other, bytesPerSecond: 12.5e6, failures: 1, successes: 40 }],
      sequence: 8,
      timestampMs: 1_700_000_000_456
    })
  })

  it('rejects malformed messages with MalformedGossipError', () => {
    const bad = (bytes: Uint8Array): unknown => { try { decodeAvailability(bytes) } catch (e) { return e } }
    expect(bad(Uint8Array.of(0xff, 0xff, 0xff, 0xff))).toBeInstanceOf(MalformedGossipError)
    const message = (contents: Array<{ contentId: string, chunkCount: number, bitfield?: Uint8Array, complete?: boolean }>, id = me): Uint8Array =>
      toBinary(AvailabilitySchema, create(AvailabilitySchema, { peerId: id, contents, sequence: 1n, timestampMs: 1n }))
    expect(bad(message([], ''))).toBeInstanceOf(MalformedGossipError)
    const metrics = toBinary(MetricsReportSchema, create(MetricsReportSchema, { peerId: me, uptimeSeconds: -1 }))
    expect(() => decodeMetrics(metrics)).toThrow(MalformedGossipError)
    const nan = toBinary(MetricsReportSchema, create(MetricsReportSchema, { peerId: me, observations: [{ peerId: other, bytesPerSecond: Number.NaN }] }))
    expect(() => decodeMetrics(nan)).toThrow(/finite/)
    const huge = toBinary(MetricsReportSchema, create(MetricsReportSchema, { peerId: me, chunksServed: 2n ** 60n }))
    expect(() => decodeMetrics(huge)).toThrow(MalformedGossipError)
  })

  it('drops and counts an invalid entry, keeping the valid ones of the message', () => {
    const message = (contents: Array<{ contentId: string, chunkCount: number, bitfield?: Uint8Array, complete?: boolean }>): Uint8Array =>
      toBinary(AvailabilitySchema, create(AvailabilitySchema, { peerId: me, contents, sequence: 1n, timestampMs: 1n }))
    const good = { contentId: cidB, chunkCount: 4, complete: true }
    for (const entry of [
      { contentId: cidA, chunkCount: 10, bitfield: new Uint8Array(3) }, // wrong size
      { contentId: cidA, chunkCount: 10, bitfield: Uint8Array.of(0xff, 0xff) }, // spare bits set
      { contentId: cidA, chunkCount: 0, complete: true }, // an empty content
      { contentId: 'not a cid!', chunkCount: 1, complete: true }
    ]) {
      const u = decodeAvailability(message([entry, good]))
      expect(u.contents.map(c => c.contentId)).toEqual([cidB])
      expect(u.droppedContents).toBe(1)
    }
    const twice = decodeAvailability(message([good, { ...good, chunkCount: 5 }]))
    expect(twice.contents).toEqual([{ contentId: cidB, chunkCount: 4, haveCount: 4, complete: true, bitfield: new Uint8Array(0) }])
    expect(twice.droppedContents).toBe(1)
    expect(decodeAvailability(message([good])).droppedContents).toBeUndefined()
    // a node's own gossip goes out without the bad entry instead of not at all
    const own = decodeAvailability(encodeAvailability({ peerId: me, contents: [{ contentId: cidA, chunkCount: 0, complete: true }, good], sequence: 1, timestampMs: 1 }))
    expect(own.contents.map(c => c.contentId)).toEqual([cidB])
  })

  it('decodes at most the given number of content entries, skipping the rest unread', () => {
    const ids = Array.from({ length: 5 }, () => contentId())
    const bytes = encodeAvailability({ peerId: me, contents: ids.map(id => ({ contentId: id, chunkCount: 2, complete: true })), sequence: 3, timestampMs: 4 })
    const u = decodeAvailability(bytes, 2)
    expect(u.contents.map(c => c.contentId)).toEqual(ids.slice(0, 2))
    expect(u).toMatchObject({ peerId: me, sequence: 3, timestampMs: 4, skippedContents: 3 })
    expect(decodeAvailability(bytes).contents).toHaveLength(5)
    expect(decodeGossip(availabilitySubject(me), bytes, undefined, 1)).toMatchObject({ kind: 'availability', update: { skippedContents: 4 } })
  })

  it('checks the subject: its kind decides the decoder and its peer ID must be the sender', () => {
    const metrics = encodeMetrics({ peerId: me, uptimeSeconds: 1, chunksServed: 0, chunksFailed: 0, bytesServed: 0, sequence: 1, timestampMs: 1 })
    expect(decodeGossip(metricsSubject(me), metrics).kind).toBe('metrics')
    expect(() => decodeGossip(metricsSubject(other), metrics)).toThrow(/subject of/)
    expect(() => decodeGossip('codio.gossip.weather.x', metrics)).toThrow(MalformedGossipError)
    expect(() => decodeGossip(`codio.gossip.availability.${me}.extra`, metrics)).toThrow(MalformedGossipError)
    expect(availabilitySubject(me)).toBe(`codio.gossip.availability.${me}`)
    expect(parseGossipSubject(availabilitySubject(me, 'x.y'), 'x.y')).toEqual({ kind: 'availability', peerId: me })
  })

  it('refuses to encode invalid local input', () => {
    expect(() => encodeAvailability({ peerId: me, multiaddrs: ['not a multiaddr'], contents: [], sequence: 1, timestampMs: 1 })).toThrow(/multiaddr/)
    expect(() => encodeMetrics({ peerId: me, uptimeSeconds: 1, chunksServed: 1.5, chunksFailed: 0, bytesServed: 0, sequence: 1, timestampMs: 1 })).toThrow(/chunks served/)
  })
})
