import fc from 'fast-check'
import { create, fromBinary, toBinary } from '@bufbuild/protobuf'
import { InvalidDataLengthError, InvalidDataLengthLengthError } from '@libp2p/utils'
import { StreamBufferError, StreamResetError } from '@libp2p/interface'
import { MessageSchema, RefusalCode, type Message } from '@codio/proto'
import {
  BLOCK_STREAM_OPTIONS, contentIdProblem, lengthLength, MAX_SESSION_MESSAGE_BYTES, messageStream, ProtocolError, readMessage,
  SwarmSessions, type SwarmSession
} from '@codio/exchange'
import { chunkCid, manifestCid, CID } from '@codio/content'
import * as Digest from 'multiformats/hashes/digest'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import { anyBytes, assertTyped, check, equalBytes, errorLabel, mutated, note, SLOW_INPUT_MS, type Target } from '../harness.js'
import { concat, deliver, turn, varint, WireStream } from '../wire-stream.js'

const encode = (payload: any): Uint8Array => toBinary(MessageSchema, create(MessageSchema, { payload }))

/** Frame size limits a reader runs with: a small one (cheap to exceed) and the two the exchange uses. */
const PROFILES = {
  small: { maxDataLength: 200, maxBufferSize: 1 << 20 },
  block: { ...BLOCK_STREAM_OPTIONS },
  session: { maxDataLength: MAX_SESSION_MESSAGE_BYTES, maxBufferSize: 1 << 22 }
} as const
type Profile = keyof typeof PROFILES

/** How a stream of frames ends, read by the reference decoder below. */
type End = 'eof' | 'truncated' | 'length-length' | 'data-length'

/**
 * Reference decoder of varint-length-prefixed frames (unsigned LEB128 prefix of at most
 * `lengthLength(max)` bytes, overlong encodings allowed within it; frames of at most `max`
 * bytes): the frames `bytes` holds, and how it ends after them.
 */
export function referenceFrames (bytes: Uint8Array, max: number): { frames: Uint8Array[], end: End } {
  const maxPrefix = lengthLength(max)
  const frames: Uint8Array[] = []
  let pos = 0
  while (true) {
    if (pos === bytes.byteLength) return { frames, end: 'eof' }
    let value = 0
    let i = 0
    while (true) {
      if (pos + i >= bytes.byteLength) return { frames, end: 'truncated' }
      const b = bytes[pos + i]
      value += (b & 0x7f) * 2 ** (7 * i)
      i++
      if (b < 0x80) break
      if (i >= maxPrefix) return { frames, end: 'length-length' }
    }
    if (value > max) return { frames, end: 'data-length' }
    if (pos + i + value > bytes.byteLength) return { frames, end: 'truncated' }
    frames.push(bytes.subarray(pos + i, pos + i + value))
    pos += i + value
  }
}

const cidBytes = chunkCid(new Uint8Array([1, 2, 3])).bytes
const validMessages = [
  encode({ case: 'request', value: { id: 7n, cid: cidBytes } }),
  encode({ case: 'piece', value: { id: 7n, cid: cidBytes, data: new Uint8Array(100).fill(9) } }),
  encode({ case: 'refusal', value: { id: 7n, code: RefusalCode.NOT_FOUND, reason: 'no' } }),
  encode({ case: 'have', value: { indexes: [3, 4] } }),
  encode({ case: 'bitfield', value: { contentId: manifestCid(new Uint8Array([4])).bytes, bits: new Uint8Array([0xff, 0x80]) } }),
  encode({ case: 'choke', value: {} }),
  new Uint8Array(0)
]

/** One piece of a hostile byte stream: a frame (well-formed or not) or raw bytes. */
const piece = fc.oneof(
  { weight: 4, arbitrary: fc.oneof(fc.constantFrom(...validMessages), fc.constantFrom(...validMessages).chain(mutated), anyBytes(40)).map(b => concat([varint(b.byteLength), b])) },
  // a non-minimal prefix: legal within the prefix limit, refused past it
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...validMessages), fc.integer({ min: 1, max: 5 })).map(([b, pad]) => concat([varint(b.byteLength, pad), b])) },
  // a length past the limit, up to 2^56: 4 GiB prefixes and beyond
  { weight: 1, arbitrary: fc.tuple(fc.oneof(fc.constantFrom(201, 2 ** 21, 2 ** 23 + 4097, 2 ** 32, 2 ** 53), fc.integer({ min: 201, max: 2 ** 31 })), anyBytes(8)).map(([n, tail]) => concat([varint(n), tail])) },
  // a prefix that never ends: bytes with the high bit set ("one more byte follows")
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0x80, max: 0xff })).map(([n, b]) => new Uint8Array(n).fill(b)) },
  { weight: 1, arbitrary: anyBytes(64) }
)

/** One hostile byte stream and how it arrives. */
const streamInput = fc.record({
  profile: fc.constantFrom<Profile>('small', 'small', 'block', 'session'),
  pieces: fc.array(piece, { maxLength: 6 }),
  truncate: fc.option(fc.nat(), { nil: undefined }),
  cuts: fc.array(fc.nat({ max: 2000 }), { maxLength: 8 }),
  pauses: fc.array(fc.boolean(), { maxLength: 4 }),
  end: fc.constantFrom<'close' | 'reset'>('close', 'close', 'close', 'reset')
})
type StreamInput = typeof streamInput extends fc.Arbitrary<infer T> ? T : never

const LIMIT_ERRORS = [InvalidDataLengthError, InvalidDataLengthLengthError, StreamBufferError]

/** Settles with `p`, or rejects once `ms` passed: a reader that neither yields nor fails hangs. */
async function orHang<T> (p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const hang = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`${what} hung for ${SLOW_INPUT_MS} ms after the stream ended`)) }, SLOW_INPUT_MS) })
  try {
    return await Promise.race([p, hang])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * The chunk exchange's frame reader (`messageStream` + `readMessage` of @codio/exchange, the
 * reader of every block and session stream) on a real libp2p stream fed hostile bytes split at
 * arbitrary points: it yields exactly the frames a reference decoder finds (as decoded
 * messages), then fails with a typed error — ProtocolError "stream ended" at the end or a cut
 * frame, ProtocolError "malformed message" for a frame that is no Message,
 * InvalidDataLengthError for a longer frame announced, InvalidDataLengthLengthError for a prefix
 * longer than the limit needs (so no more than that many prefix bytes are ever held) — and
 * never hangs once the stream ended. A reset stream yields a prefix of those frames.
 */
export const frameReaderTarget: Target = {
  name: 'wire.frame-reader',
  property: () => fc.asyncProperty(streamInput, async (input: StreamInput) => {
    const opts = PROFILES[input.profile]
    let bytes = concat(input.pieces)
    if (input.truncate !== undefined) bytes = bytes.subarray(0, input.truncate % (bytes.byteLength + 1))
    const want = referenceFrames(bytes, opts.maxDataLength)
    const stream = new WireStream()
    const lp = messageStream(stream, opts)
    const got: Message[] = []
    const reading = (async (): Promise<unknown> => {
      try {
        while (true) got.push(await readMessage(lp))
      } catch (err) {
        return err
      }
    })()
    await deliver(stream, bytes, input.cuts, input.pauses, input.end)
    const err = await orHang(reading, 'readMessage')
    assertTyped(err, [ProtocolError, ...LIMIT_ERRORS, StreamResetError], 'readMessage')
    note(`${input.profile}:${input.end}:${want.end}:${errorLabel(err).slice(0, 50)}:${Math.min(got.length, 3)} frames`)
    check(got.length <= want.frames.length, `read ${got.length} frames, the bytes hold ${want.frames.length}`)
    for (const [i, m] of got.entries()) {
      check(equalBytes(toBinary(MessageSchema, m), toBinary(MessageSchema, fromBinary(MessageSchema, want.frames[i]))), `frame ${i} differs`)
    }
    if (input.end === 'reset') return true
    // a clean end: every frame, then the error the bytes call for
    const bad = want.frames.findIndex(f => { try { fromBinary(MessageSchema, f); return false } catch { return true } })
    const name = (err as Error).name
    const message = (err as Error).message
    if (bad >= 0) {
      check(got.length === bad && err instanceof ProtocolError && message.startsWith('malformed message'), `frame ${bad} is no message: expected a malformed-message error after ${bad} frames, got ${got.length} then ${name}: ${message}`)
      return true
    }
    check(got.length === want.frames.length, `read ${got.length} of ${want.frames.length} frames, then ${name}: ${message}`)
    const expected = { eof: 'stream ended', truncated: 'stream ended', 'length-length': 'InvalidDataLengthLengthError', 'data-length': 'InvalidDataLengthError' }[want.end]
    const actual = err instanceof ProtocolError ? message : name
    check(actual === expected, `the bytes end with ${want.end}: expected ${expected}, got ${name}: ${message}`)
    return true
  })
}

const CHUNKS = 16
const served = manifestCid(new Uint8Array([1, 6]))
const sha = served.multihash.digest
/** Content IDs a hostile opener might name: the one served, another well-formed one, and malformed ones. */
const contentIds: Uint8Array[] = [
  served.bytes,
  manifestCid(new Uint8Array([2])).bytes,
  CID.createV1(0x71, Digest.create(0x12, new Uint8Array(300).fill(7))).bytes,
  CID.createV0(Digest.create(0x12, sha)).bytes,
  chunkCid(new Uint8Array([1, 6])).bytes,
  CID.createV1(0x71, Digest.create(0x00, new Uint8Array(32))).bytes,
  CID.createV1(0x71, Digest.create(0x12, sha.subarray(0, 20))).bytes,
  CID.createV1(0x70, Digest.create(0x12, sha)).bytes,
  new Uint8Array(0)
]
const indexes = fc.array(fc.oneof(fc.nat({ max: CHUNKS - 1 }), fc.nat({ max: 40 }), fc.constantFrom(2 ** 32 - 1)), { maxLength: 6 })
const pexEntries = (max: number): fc.Arbitrary<any[]> => fc.array(fc.record({ peerId: fc.uint8Array({ maxLength: 40 }), multiaddrs: fc.array(fc.uint8Array({ maxLength: 20 }), { maxLength: 2 }) }), { maxLength: max })
const contentIdField = fc.oneof(fc.constantFrom(...contentIds), fc.uint8Array({ maxLength: 40 }), fc.constantFrom(...contentIds).chain(mutated))
/** The opener's first message: a bitfield (any content ID, bits of the right length or not), or anything else. */
const opening = fc.oneof(
  { weight: 4, arbitrary: fc.record({ contentId: contentIdField, bits: fc.oneof(fc.uint8Array({ minLength: CHUNKS / 8, maxLength: CHUNKS / 8 }), fc.uint8Array({ maxLength: 5 })) }).map(value => encode({ case: 'bitfield', value })) },
  { weight: 1, arbitrary: fc.constantFrom(...validMessages) },
  { weight: 1, arbitrary: anyBytes(48) }
)
/** The session messages after it: state messages, anything else, junk. */
const sessionMessage = fc.oneof(
  { weight: 3, arbitrary: fc.record({ contentId: fc.oneof(fc.constant(served.bytes), contentIdField), indexes }).map(value => encode({ case: 'have', value })) },
  { weight: 2, arbitrary: fc.constantFrom('choke', 'unchoke', 'interested', 'notInterested').map(c => encode({ case: c, value: {} })) },
  { weight: 1, arbitrary: fc.record({ contentId: fc.constant(served.bytes), added: fc.oneof(pexEntries(3), pexEntries(60)), dropped: fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 55 }) }).map(value => encode({ case: 'peerExchange', value })) },
  { weight: 1, arbitrary: fc.constantFrom(...validMessages) },
  { weight: 1, arbitrary: anyBytes(48) }
)
const handshakeInput = fc.record({
  first: opening,
  rest: fc.array(sessionMessage, { maxLength: 5 }),
  junk: fc.option(fc.constantFrom(new Uint8Array(9).fill(0xff), varint(2 ** 32), Uint8Array.of(0x05, 0x01)), { nil: undefined }),
  cuts: fc.array(fc.nat({ max: 600 }), { maxLength: 6 }),
  pauses: fc.array(fc.boolean(), { maxLength: 3 }),
  end: fc.constantFrom<'close' | 'reset'>('close', 'close', 'reset')
})
type HandshakeInput = typeof handshakeInput extends fc.Arbitrary<infer T> ? T : never

/** What the acceptor did with one inbound stream. */
interface Seen { asked: CID[], sessions: SwarmSession[], haves: number[] }

/**
 * The swarm session protocol's accept path (`SwarmSessions` of @codio/exchange: the handshake,
 * then `SwarmSession.run` over the opener's messages) fed hostile streams by a remote that
 * opens with any message and any content ID: the host is only ever asked about well-formed
 * content IDs (CIDv1, dag-cbor, 32-byte sha2-256); a malformed one gets exactly a BAD_REQUEST
 * refusal, one not served NOT_FOUND, a bitfield of the wrong length BAD_REQUEST, and no
 * session; a good one gets our bitfield and one session, which passes on only `have`s inside
 * the bitfield and ends when the stream does. Never a hang.
 */
export const swarmHandshakeTarget: Target = {
  name: 'wire.swarm-handshake',
  property: () => {
    let handler: ((stream: WireStream, connection: any) => void) | undefined
    let seen: Seen = { asked: [], sessions: [], haves: [] }
    const sessions = new SwarmSessions({
      // the registrar's one job here: hand over the protocol handler, which the fuzzer calls as a connection would
      registrar: { handle: async (_p: string, h: any) => { handler = h }, unhandle: async () => {} } as any,
      connectionManager: {} as any,
      logger: defaultLogger()
    }, {
      host: {
        bitfield: async (contentId) => {
          seen.asked.push(contentId)
          return contentId.equals(served) ? new Uint8Array(CHUNKS / 8).fill(0xa5) : undefined
        },
        onInboundSession: (s) => {
          seen.sessions.push(s)
          s.listen({ onHave: (i) => { seen.haves.push(...i) } })
        }
      },
      limits: { haveBurst: 1_000_000 }
    })
    const connection = { remotePeer: peerIdFromString('12D3KooWEe2DHPFqwUDCSbKSQpgufmxh9dRASkdPpyuzVyECtQ3T') }
    const started = sessions.start()
    return fc.asyncProperty(handshakeInput, async (input: HandshakeInput) => {
      await started
      seen = { asked: [], sessions: [], haves: [] }
      const stream = new WireStream()
      const frames = [input.first, ...input.rest].map(m => concat([varint(m.byteLength), m]))
      const bytes = concat([...frames, ...(input.junk === undefined ? [] : [input.junk])])
      const done = new Promise<void>(resolve => { stream.addEventListener('close', () => { resolve() }, { once: true }) })
      handler!(stream, connection)
      await deliver(stream, bytes, input.cuts, input.pauses, input.end)
      await orHang(done, 'the session acceptor')
      // the stream's close event comes first; its session's reader settles a few promise jobs later
      await turn()
      for (const s of seen.sessions) check(s.isClosed, 'a session outlived its stream')

      // the host hears only about well-formed content IDs
      for (const id of seen.asked) check(contentIdProblem(id) === undefined, `the host was asked about ${id.toString()}: ${contentIdProblem(id) ?? ''}`)
      check(seen.haves.every(i => i < CHUNKS), `a have outside the bitfield passed: ${seen.haves.join(',')}`)
      check(seen.sessions.length <= 1, 'more than one session from one stream')
      note(`asked ${seen.asked.length}, sessions ${seen.sessions.length}, haves ${Math.min(seen.haves.length, 2)}`)
      const answer = referenceFrames(stream.sent.subarray(), MAX_SESSION_MESSAGE_BYTES).frames[0]
      if (answer !== undefined) {
        try {
          const a = fromBinary(MessageSchema, answer).payload
          note(`answer ${a.case ?? 'none'}${a.case === 'refusal' ? ` ${a.value.code}: ${a.value.reason.replace(/[A-Za-z0-9]{20,}/g, '…').replace(/\d+/g, '#').slice(0, 60)}` : ''}`)
        } catch {}
      }

      // what the acceptor answered to a complete bitfield
      let first: Message | undefined
      try { first = fromBinary(MessageSchema, input.first) } catch {}
      if (first?.payload.case !== 'bitfield' || input.end === 'reset' || input.first.byteLength > MAX_SESSION_MESSAGE_BYTES) return true
      const replies: Message[] = []
      const sent = stream.sent.subarray()
      const { frames: out } = referenceFrames(sent, MAX_SESSION_MESSAGE_BYTES)
      for (const f of out) replies.push(fromBinary(MessageSchema, f))
      const reply = replies[0]?.payload
      let cid: CID | undefined
      try { cid = CID.decode(first.payload.value.contentId) } catch {}
      const problem = cid === undefined ? 'no CID' : contentIdProblem(cid)
      if (problem !== undefined || cid === undefined) {
        check(reply?.case === 'refusal' && reply.value.code === RefusalCode.BAD_REQUEST && seen.sessions.length === 0, `a malformed content ID (${problem ?? ''}) was not refused BAD_REQUEST: ${reply?.case ?? 'no reply'}`)
      } else if (!cid.equals(served)) {
        check(reply?.case === 'refusal' && reply.value.code === RefusalCode.NOT_FOUND && seen.sessions.length === 0, `a content not served was not refused NOT_FOUND: ${reply?.case ?? 'no reply'}`)
      } else if (first.payload.value.bits.length !== CHUNKS / 8) {
        check(reply?.case === 'refusal' && reply.value.code === RefusalCode.BAD_REQUEST && seen.sessions.length === 0, `a bitfield of the wrong length was not refused: ${reply?.case ?? 'no reply'}`)
      } else {
        check(reply?.case === 'bitfield' && equalBytes(reply.value.bits, new Uint8Array(CHUNKS / 8).fill(0xa5)) && seen.sessions.length === 1, `a good handshake got ${reply?.case ?? 'no reply'} and ${seen.sessions.length} sessions`)
      }
      return true
    })
  }
}

const frame = (m: Uint8Array): Uint8Array => concat([varint(m.byteLength), m])
const allKinds = [...validMessages, encode({ case: 'cancel', value: { id: 7n } }), encode({ case: 'unchoke', value: {} })]
const streamSeed = (note: string, s: Partial<StreamInput> & { pieces: Uint8Array[] }): { note: string, input: unknown[] } =>
  ({ note, input: [{ profile: 'block', truncate: undefined, cuts: [], pauses: [], end: 'close', ...s }] })

frameReaderTarget.seeds = () => {
  const every = allKinds.map(frame)
  const total = concat(every).byteLength
  return [
    streamSeed('one frame of every message kind, delivered at once', { pieces: every }),
    streamSeed('the same, cut at every byte with a turn after each piece', { pieces: every, cuts: Array.from({ length: total }, (_, i) => i), pauses: [true] }),
    streamSeed('a 4 GiB length prefix (refused: InvalidDataLengthError)', { pieces: [frame(allKinds[0]), varint(2 ** 32), new Uint8Array(8)] }),
    streamSeed('a 2^53 length prefix', { pieces: [varint(2 ** 53)] }),
    streamSeed('one frame just over the block limit announced', { pieces: [varint(BLOCK_STREAM_OPTIONS.maxDataLength + 1)] }),
    streamSeed('a length prefix that never ends: 300 bytes 0xff (read on forever before the fix)', { pieces: [frame(allKinds[0]), new Uint8Array(300).fill(0xff)] }),
    streamSeed('a length prefix that never ends on a session stream, cut in 3', { profile: 'session', pieces: [new Uint8Array(64).fill(0x80)], cuts: [1, 5, 9], pauses: [true] }),
    streamSeed('9 bytes of 0xff: the longest prefix uint8-varint rejects as RangeError', { profile: 'small', pieces: [new Uint8Array(9).fill(0xff)] }),
    streamSeed('an overlong prefix within the limit (small: 2 bytes)', { profile: 'small', pieces: [concat([varint(allKinds[3].byteLength, 1), allKinds[3]])] }),
    streamSeed('an overlong prefix past the limit (small: 3 bytes)', { profile: 'small', pieces: [concat([varint(allKinds[3].byteLength, 2), allKinds[3]])] }),
    streamSeed('a frame of exactly the limit (small: 200 bytes of a piece)', { profile: 'small', pieces: [frame(encode({ case: 'piece', value: { id: 1n, data: new Uint8Array(196) } }))] }),
    streamSeed('a frame one byte over the limit', { profile: 'small', pieces: [frame(encode({ case: 'piece', value: { id: 1n, data: new Uint8Array(197) } }))] }),
    streamSeed('a frame cut short: prefix 100, 10 bytes', { pieces: [varint(100), new Uint8Array(10)] }),
    streamSeed('a prefix cut short', { pieces: [Uint8Array.of(0x80)] }),
    streamSeed('zero-length frames (empty messages)', { pieces: [Uint8Array.of(0), Uint8Array.of(0), frame(allKinds[5])] }),
    streamSeed('a frame that is no message', { pieces: [frame(allKinds[0]), frame(Uint8Array.of(0xff, 0xff, 0xff))] }),
    streamSeed('reset in the middle of a frame', { pieces: [frame(allKinds[1]).subarray(0, 40)], end: 'reset' }),
    streamSeed('reset after whole frames', { pieces: every, end: 'reset', pauses: [true] }),
    streamSeed('the stream ends cleanly with no frame', { pieces: [] })
  ]
}

const handshakeSeed = (note: string, s: Partial<HandshakeInput> & { first: Uint8Array }): { note: string, input: unknown[] } =>
  ({ note, input: [{ rest: [], junk: undefined, cuts: [], pauses: [], end: 'close', ...s }] })
const bitfieldOf = (contentId: Uint8Array, bits = new Uint8Array(CHUNKS / 8)): Uint8Array => encode({ case: 'bitfield', value: { contentId, bits } })

swarmHandshakeTarget.seeds = () => {
  const pex = (n: number): Uint8Array => encode({ case: 'peerExchange', value: { contentId: served.bytes, added: Array.from({ length: n }, (_, i) => ({ peerId: Uint8Array.of(i), multiaddrs: [] })), dropped: [] } })
  const state = ['choke', 'unchoke', 'interested', 'notInterested'].map(c => encode({ case: c, value: {} }))
  return [
    handshakeSeed('a good handshake, then every state message', { first: bitfieldOf(served.bytes), rest: [encode({ case: 'have', value: { contentId: served.bytes, indexes: [3, 9] } }), ...state, pex(2)] }),
    handshakeSeed('a good handshake cut at every byte', { first: bitfieldOf(served.bytes), rest: [encode({ case: 'have', value: { indexes: [15] } })], cuts: Array.from({ length: 40 }, (_, i) => i), pauses: [true] }),
    ...contentIds.slice(1).map((id, i) => handshakeSeed(`content ID ${['of a content not served', 'with a 300-byte digest (reached the store before the fix)', 'CIDv0', 'with the raw codec', 'with the identity multihash', 'with a 20-byte digest', 'with the dag-pb codec', 'empty'][i]}`, { first: bitfieldOf(id) })),
    handshakeSeed('bytes that are no CID as content ID', { first: bitfieldOf(Uint8Array.of(1, 2, 3)) }),
    handshakeSeed('a bitfield of the wrong length', { first: bitfieldOf(served.bytes, new Uint8Array(3)) }),
    handshakeSeed('have 16: one past the bitfield', { first: bitfieldOf(served.bytes), rest: [encode({ case: 'have', value: { indexes: [16] } })] }),
    handshakeSeed('have 2^32 - 1', { first: bitfieldOf(served.bytes), rest: [encode({ case: 'have', value: { indexes: [2 ** 32 - 1] } })] }),
    handshakeSeed('a peer exchange of 51 peers', { first: bitfieldOf(served.bytes), rest: [pex(51)] }),
    handshakeSeed('a request where the handshake belongs', { first: validMessages[0] }),
    handshakeSeed('an empty first message', { first: new Uint8Array(0) }),
    handshakeSeed('a request inside a session', { first: bitfieldOf(served.bytes), rest: [validMessages[0]] }),
    handshakeSeed('a prefix that never ends after the handshake', { first: bitfieldOf(served.bytes), junk: new Uint8Array(9).fill(0xff) }),
    handshakeSeed('a 4 GiB prefix after the handshake', { first: bitfieldOf(served.bytes), junk: varint(2 ** 32) }),
    handshakeSeed('reset during the handshake', { first: bitfieldOf(served.bytes), end: 'reset' })
  ]
}
