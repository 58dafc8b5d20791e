import type { Message } from '@codio/proto'
import type { Stream } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'
import { messageStream, readMessage } from './wire.js'

/**
 * @internal One ordered, reliable channel of varint-length-prefixed `codio.exchange.v1.Message`s
 * with one peer: a libp2p stream ({@link streamConn}) or a bulk channel's TLS socket
 * (`socketConn`). The block exchange's requester and server speak the same messages on either.
 */
export interface MessageConn {
  /**
   * The next message.
   * @throws ProtocolError `'stream ended'` at the end, or a malformed message; a limit error
   *   (see `readLimitReason`) for a frame over the size limit
   */
  read(): Promise<Message>
  /** Write one encoded message (its length prefix is added); resolves once the channel takes more. */
  write(message: Uint8Array): Promise<void>
  /** Write one frame already length-prefixed (`encodePiece`); resolves once the channel takes more. */
  send(frame: Uint8ArrayList): Promise<void>
  /** The channel was reset or aborted: nothing more can be written. */
  readonly broken: boolean
  /** End writing gracefully (what was written is still delivered). */
  close(): Promise<void>
  /** End both directions at once. */
  abort(err: Error): void
}

/** A libp2p stream as a {@link MessageConn}; frames of at most `maxDataLength` bytes, `maxBufferSize` read buffer. */
export function streamConn (stream: Stream, opts: { maxDataLength: number, maxBufferSize?: number }): MessageConn {
  const lp = messageStream(stream, opts)
  return {
    read: async () => await readMessage(lp),
    write: async message => { await lp.write(message) },
    send: async frame => {
      // already length-prefixed, the chunk not copied: straight to the stream, as lp.write does
      if (!stream.send(frame)) await stream.onDrain()
    },
    get broken () { return stream.status === 'reset' || stream.status === 'aborted' },
    close: async () => { await stream.close() },
    abort: err => { stream.abort(err) }
  }
}
