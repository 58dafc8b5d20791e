import { fromBinary } from '@bufbuild/protobuf'
import { MessageSchema, type Message } from '@codio/proto'
import type { LengthPrefixedStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
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
