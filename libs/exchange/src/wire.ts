import { fromBinary } from '@bufbuild/protobuf'
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire'
import { MessageSchema, type Message } from '@codio/proto'
import { InvalidDataLengthLengthError, lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import { ProtocolError } from './errors.js'

/**
 * @internal The unsigned LEB128 varint length prefix of a frame, as `lpStream` calls it: once
 * per byte read, with all the prefix bytes so far. A RangeError asks for another byte; past
 * `maxLengthLength` bytes without a final byte (high bit clear) it throws
 * InvalidDataLengthLengthError. `lpStream`'s own decoder (uint8-varint) throws RangeError for
 * any prefix of 9 bytes and more, which lpStream takes as "read another byte", and checks
 * `maxLengthLength` only after a prefix decoded: a peer sending endless 0xff bytes kept a
 * reader reading, holding every byte in a list (about 125 B of heap per byte received), and
 * never failing while the stream stayed open.
 */
export function frameLengthDecoder (maxLengthLength: number): (prefix: Uint8ArrayList) => number {
  return prefix => {
    let value = 0
    const n = Math.min(prefix.byteLength, maxLengthLength)
    for (let i = 0; i < n; i++) {
      const b = prefix.get(i)
      value += (b & 0x7f) * 2 ** (7 * i)
      if (b < 0x80) return value
    }
    if (prefix.byteLength >= maxLengthLength) throw new InvalidDataLengthLengthError(`Message length length too long - more than ${maxLengthLength} bytes`)
    throw new RangeError('varint needs another byte')
  }
}

/** Length-prefix bytes a frame of at most `maxDataLength` bytes needs (unsigned LEB128). */
export function lengthLength (maxDataLength: number): number {
  let n = 1
  while (maxDataLength >= 2 ** (7 * n)) n++
  return n
}

/**
 * @internal The reader and writer of varint-length-prefixed frames on a block or session
 * stream: `lpStream` with frames of at most `maxDataLength` bytes, a prefix of at most the
 * bytes that length needs ({@link frameLengthDecoder}), and a read buffer of at most
 * `maxBufferSize` bytes (lpStream's default 4 MiB if unset). Reads fail with
 * InvalidDataLengthError (a longer frame announced), InvalidDataLengthLengthError (a longer
 * prefix), StreamBufferError (more unread bytes buffered) or UnexpectedEOFError.
 */
export function messageStream (stream: Stream, opts: { maxDataLength: number, maxBufferSize?: number }): LengthPrefixedStream<Stream> {
  const maxLengthLength = lengthLength(opts.maxDataLength)
  return lpStream(stream, { ...opts, maxLengthLength, lengthDecoder: frameLengthDecoder(maxLengthLength) })
}

/**
 * @internal Reads one varint-length-prefixed `codio.exchange.v1.Message`.
 * @throws ProtocolError `'stream ended'` at the end of the stream, or a malformed message
 */
export async function readMessage (lp: LengthPrefixedStream<Stream>, signal?: AbortSignal): Promise<Message> {
  let buf
  try {
    buf = await lp.read({ signal })
  } catch (err: any) {
    if (err.name === 'UnexpectedEOFError') throw new ProtocolError('stream ended', { cause: err })
    throw err
  }
  return decodeMessage(buf.subarray())
}

/**
 * @internal One `codio.exchange.v1.Message` from its bytes (without the length prefix). A
 * piece's `data` is a view of `bytes`, not a copy.
 * @throws ProtocolError a malformed message
 */
export function decodeMessage (bytes: Uint8Array): Message {
  try {
    return fromBinary(MessageSchema, bytes)
  } catch (err: any) {
    throw new ProtocolError(`malformed message: ${err.message}`, { cause: err })
  }
}

/**
 * @internal The varint-length-prefixed `Message { piece: Piece { id, cid, data } }` as a list
 * of buffers whose last one is `data` itself: the same bytes `toBinary` gives (proto3, fields
 * in number order, zero values omitted), without copying a chunk into a fresh message buffer
 * on every upload. Goes straight to `stream.send` (an `lp.write` would prefix it again).
 */
export function encodePiece (id: bigint, cid: Uint8Array, data: Uint8Array): Uint8ArrayList {
  const piece = new BinaryWriter()
  if (id !== 0n) piece.tag(1, WireType.Varint).uint64(id)
  if (cid.byteLength > 0) piece.tag(2, WireType.LengthDelimited).bytes(cid)
  if (data.byteLength > 0) piece.tag(3, WireType.LengthDelimited).uint32(data.byteLength)
  const pieceHead = piece.finish()
  const pieceBytes = pieceHead.byteLength + data.byteLength
  const message = new BinaryWriter().tag(2, WireType.LengthDelimited).uint32(pieceBytes).finish()
  const messageBytes = message.byteLength + pieceBytes
  const head = new BinaryWriter().uint32(messageBytes).raw(message).raw(pieceHead).finish()
  return data.byteLength > 0 ? new Uint8ArrayList(head, data) : new Uint8ArrayList(head)
}
