import { fromBinary } from '@bufbuild/protobuf'
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire'
import { MessageSchema, type Message } from '@codio/proto'
import type { LengthPrefixedStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import { ProtocolError } from './errors.js'

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
  try {
    return fromBinary(MessageSchema, buf.subarray())
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
