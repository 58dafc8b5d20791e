import fc from 'fast-check'
import { create, fromBinary, toBinary } from '@bufbuild/protobuf'
import { AvailabilitySchema, MessageSchema, MetricsReportSchema, RefusalCode } from '@codio/proto'
import { blockIdProblem } from '@codio/exchange'
import { chunkCid, manifestCid, CID } from '@codio/content'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import {
  availabilitySubject, decodeGossip, encodeAvailability, encodeMetrics, MalformedGossipError, metricsSubject, signGossip, verifyGossip
} from '@codio/tracker'
import { anyBytes, check, equalBytes, mutated, parse, parseAsync, type Target } from '../harness.js'

/** Valid exchange messages of every kind, encoded. */
function validMessages (): Uint8Array[] {
  const cid = chunkCid(new Uint8Array([1, 2, 3])).bytes
  const content = manifestCid(new Uint8Array([4])).bytes
  const payloads: Array<Parameters<typeof create<typeof MessageSchema>>[1]> = [
    { payload: { case: 'request', value: { id: 7n, cid } } },
    { payload: { case: 'piece', value: { id: 7n, cid, data: new Uint8Array(100).fill(9) } } },
    { payload: { case: 'refusal', value: { id: 7n, code: RefusalCode.NOT_FOUND, reason: 'no' } } },
    { payload: { case: 'cancel', value: { id: 7n } } },
    { payload: { case: 'have', value: { indexes: [3, 4] } } },
    { payload: { case: 'bitfield', value: { contentId: content, bits: new Uint8Array([0xff, 0x80]) } } },
    { payload: { case: 'choke', value: {} } },
    { payload: { case: 'unchoke', value: {} } },
    { payload: { case: 'interested', value: {} } },
    { payload: { case: 'notInterested', value: {} } },
    { payload: { case: 'peerExchange', value: {} } },
    { payload: { case: 'presence', value: {} } }
  ]
  return payloads.map(p => toBinary(MessageSchema, create(MessageSchema, p as any)))
}

/** A CID field from the wire as the exchange reads it: decode, then blockIdProblem; never throws past the catch. */
function cidField (bytes: Uint8Array | undefined): void {
  if (bytes === undefined) return
  let cid: CID
  try {
    cid = CID.decode(bytes)
  } catch {
    return // the exchange answers "no valid CID"
  }
  parse('blockIdProblem', [], () => blockIdProblem(cid))
}

/**
 * Chunk-exchange and swarm messages (`codio.exchange.v1.Message`, the payload after the
 * length prefix): arbitrary bytes and mutated valid messages either fail to decode (wrapped as
 * ProtocolError by readMessage) or decode to a message that re-encodes and decodes the same;
 * the CID fields the exchange reads never throw past their checks.
 */
export const exchangeMessageTarget: Target = {
  name: 'wire.exchange-message',
  property: () => {
    const valid = validMessages()
    const id = fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.constant(0n))
    const cidBytes = fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.constant(chunkCid(new Uint8Array([1])).bytes), fc.uint8Array({ maxLength: 8 }).map(b => manifestCid(b).bytes))
    // well-formed messages with hostile field values (CIDs of any shape, huge ids, big bitfields)
    const structured = fc.oneof(
      fc.record({ id, cid: cidBytes }).map(value => ({ case: 'request' as const, value })),
      fc.record({ id, cid: cidBytes, data: fc.uint8Array({ maxLength: 64 }) }).map(value => ({ case: 'piece' as const, value })),
      fc.record({ id, code: fc.integer(), reason: fc.string({ maxLength: 40 }) }).map(value => ({ case: 'refusal' as const, value })),
      fc.record({ indexes: fc.array(fc.nat(), { maxLength: 8 }) }).map(value => ({ case: 'have' as const, value })),
      fc.record({ contentId: cidBytes, bits: fc.uint8Array({ maxLength: 64 }) }).map(value => ({ case: 'bitfield' as const, value }))
    ).map(payload => toBinary(MessageSchema, create(MessageSchema, { payload } as any)))
    return fc.property(fc.oneof(anyBytes(), fc.constantFrom(...valid).chain(v => mutated(v)), structured), bytes => {
      const m = parse('fromBinary(Message)', [Error], () => fromBinary(MessageSchema, bytes))
      if (m === undefined) return true
      const again = fromBinary(MessageSchema, toBinary(MessageSchema, m))
      check(equalBytes(toBinary(MessageSchema, again), toBinary(MessageSchema, m)), 'message does not round-trip')
      const p = m.payload
      if (p.case === 'request' || p.case === 'piece') cidField(p.value.cid)
      if (p.case === 'bitfield') cidField(p.value.contentId)
      return true
    })
  }
}

/**
 * Gossip from NATS: any subject and bytes, and mutations of a valid signed availability or
 * metrics message, give MalformedGossipError or an update whose sender matches the subject;
 * the signature never verifies for changed bytes, and verifyGossip never throws.
 */
export const gossipTarget: Target = {
  name: 'wire.gossip',
  property: async () => {
    const key = await generateKeyPair('Ed25519')
    const peer = peerIdFromPrivateKey(key).toString()
    const content = manifestCid(new Uint8Array([4])).toString()
    const avail = encodeAvailability({ peerId: peer, multiaddrs: ['/ip4/127.0.0.1/tcp/4001'], roles: ['edge'], contents: [{ contentId: content, chunkCount: 10, bitfield: new Uint8Array([0xff, 0x00]) }], sequence: 3, timestampMs: 1_700_000_000_000 })
    const metrics = encodeMetrics({ peerId: peer, uptimeSeconds: 10, chunksServed: 5, chunksFailed: 1, bytesServed: 5000, observations: [], sequence: 4, timestampMs: 1_700_000_000_000 })
    const signed = [
      { subject: availabilitySubject(peer), bytes: avail, sig: await signGossip(key, availabilitySubject(peer), avail) },
      { subject: metricsSubject(peer), bytes: metrics, sig: await signGossip(key, metricsSubject(peer), metrics) }
    ]
    const subject = fc.oneof(fc.string({ maxLength: 80 }), fc.constantFrom(...signed.map(s => s.subject)), fc.constant(`codio.availability.${peer}.x`))
    const input = fc.oneof(
      fc.record({ subject, bytes: anyBytes(), sig: fc.option(fc.string({ maxLength: 300 }), { nil: undefined }) }),
      fc.constantFrom(...signed).chain(s => mutated(s.bytes).map(bytes => ({ subject: s.subject, bytes, sig: s.sig as string | undefined, original: s })))
    )
    const u64 = fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.constantFrom(0n, 2n ** 53n, 2n ** 53n - 1n, 2n ** 64n - 1n))
    const word = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom(peer, content, 'edge', '/ip4/1.2.3.4/tcp/1', '/dns4/x/tcp/99999'))
    // well-formed protobuf with hostile field values: reaches the validation past the decoder
    const availability = fc.record({
      peerId: fc.oneof(fc.constant(peer), word),
      multiaddrs: fc.array(word, { maxLength: 70 }),
      roles: fc.array(word, { maxLength: 5 }),
      contents: fc.array(fc.record({
        contentId: fc.oneof(fc.constant(content), word),
        chunkCount: fc.oneof(fc.nat({ max: 20 }), fc.constantFrom(2 ** 24, 2 ** 24 + 1, 2 ** 32 - 1)),
        bitfield: fc.uint8Array({ maxLength: 4 }),
        complete: fc.boolean()
      }), { maxLength: 4 }),
      sequence: u64,
      timestampMs: u64
    }).map(a => ({ subject: availabilitySubject(peer), bytes: toBinary(AvailabilitySchema, create(AvailabilitySchema, a)), sig: undefined }))
    const num = fc.oneof(fc.double(), fc.constantFrom(NaN, -1, Infinity, 0, 1e300))
    const metricsMsg = fc.record({
      peerId: fc.oneof(fc.constant(peer), word),
      uptimeSeconds: num,
      chunksServed: u64,
      chunksFailed: u64,
      bytesServed: u64,
      observations: fc.array(fc.record({ peerId: fc.oneof(fc.constant(peer), word), bytesPerSecond: num, failures: u64, successes: u64 }), { maxLength: 3 }),
      sequence: u64,
      timestampMs: u64
    }).map(m => ({ subject: metricsSubject(peer), bytes: toBinary(MetricsReportSchema, create(MetricsReportSchema, m)), sig: undefined }))
    return fc.asyncProperty(fc.oneof(input, availability, metricsMsg), async ({ subject, bytes, sig, ...rest }) => {
      const g = parse('decodeGossip', [MalformedGossipError], () => decodeGossip(subject, bytes))
      if (g !== undefined) check(subject.endsWith(`.${g.update.peerId}`), 'sender does not match the subject')
      const ok = await parseAsync('verifyGossip', [], async () => await verifyGossip(peer, subject, bytes, sig))
      const original = (rest as { original?: { bytes: Uint8Array } }).original
      if (ok === true) check(original !== undefined && equalBytes(original.bytes, bytes), 'changed gossip verified')
      return true
    })
  }
}

exchangeMessageTarget.seeds = () => [
  ...validMessages().map((m, i) => ({ note: `valid message ${i}`, input: [m] })),
  { note: 'empty (a message with no payload)', input: [new Uint8Array(0)] },
  { note: 'a request whose CID has a 300-byte digest', input: [toBinary(MessageSchema, create(MessageSchema, { payload: { case: 'request', value: { id: 1n, cid: Uint8Array.of(1, 0x55, 0x12, 0xac, 0x02, ...new Uint8Array(300)) } } }))] },
  { note: 'a length-delimited field claiming 2^32 bytes', input: [Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f)] },
  { note: 'a varint of 11 bytes', input: [Uint8Array.of(0x08, ...new Uint8Array(10).fill(0xff), 0x01)] },
  { note: 'an unknown field number 2^29 - 1', input: [Uint8Array.of(0xf8, 0xff, 0xff, 0xff, 0x0f, 0x01)] },
  { note: 'group start wire type (deprecated)', input: [Uint8Array.of(0x0b)] }
]

gossipTarget.seeds = () => {
  const content = manifestCid(new Uint8Array([4])).toString()
  const p = '12D3KooWEe2DHPFqwUDCSbKSQpgufmxh9dRASkdPpyuzVyECtQ3T'
  const avail = (a: object): Uint8Array => toBinary(AvailabilitySchema, create(AvailabilitySchema, a))
  const base = { peerId: p, multiaddrs: ['/ip4/127.0.0.1/tcp/4001'], roles: ['edge'], contents: [{ contentId: content, chunkCount: 10, bitfield: new Uint8Array([0xff, 0xc0]) }], sequence: 3n, timestampMs: 1_700_000_000_000n }
  return [
    { note: 'a valid availability message (unsigned)', input: [{ subject: availabilitySubject(p), bytes: avail(base), sig: undefined }] },
    { note: 'sequence and timestamp 2^53 - 1 (hid a peer for good, issue 19)', input: [{ subject: availabilitySubject(p), bytes: avail({ ...base, sequence: 2n ** 53n - 1n, timestampMs: 2n ** 53n - 1n }), sig: undefined }] },
    { note: 'an entry with 0 chunks (sank the whole message, issue 19)', input: [{ subject: availabilitySubject(p), bytes: avail({ ...base, contents: [{ contentId: content, chunkCount: 0, bitfield: new Uint8Array(0) }] }), sig: undefined }] },
    { note: 'the sender is not the subject', input: [{ subject: availabilitySubject(p), bytes: avail({ ...base, peerId: 'x' }), sig: undefined }] },
    { note: 'a metrics report with 10^15 failures (issue 19)', input: [{ subject: metricsSubject(p), bytes: toBinary(MetricsReportSchema, create(MetricsReportSchema, { peerId: p, uptimeSeconds: 1e9, chunksServed: 10n ** 12n, chunksFailed: 10n ** 15n, bytesServed: 1n, observations: [{ peerId: p, bytesPerSecond: NaN, failures: 10n ** 15n, successes: 0n }], sequence: 1n, timestampMs: 1n })), sig: undefined }] },
    { note: 'junk bytes and a junk signature', input: [{ subject: 'codio.availability.', bytes: Uint8Array.of(0xff, 0xff), sig: '!!' }] },
    { note: 'a subject with a trailing token', input: [{ subject: `codio.availability.${p}.x`, bytes: new Uint8Array(0), sig: undefined }] }
  ]
}
