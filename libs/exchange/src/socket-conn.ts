import type { Socket } from 'node:net'
import { BinaryWriter } from '@bufbuild/protobuf/wire'
import type { Message } from '@codio/proto'
import { InvalidDataLengthError, InvalidDataLengthLengthError } from '@libp2p/utils'
import { Uint8ArrayList } from 'uint8arraylist'
import { ProtocolError } from './errors.js'
import type { MessageConn } from './message-conn.js'
import { decodeMessage, lengthLength } from './wire.js'

/**
 * @internal A node socket (the bulk channel's TLS socket) as a {@link MessageConn}: the same
 * varint-length-prefixed messages as on a libp2p stream, framed here without a stream-muxer or
 * an async-iterator layer between the socket and the exchange. A frame that arrives in one
 * socket read is handed over as a view of it (no copy); one spread over reads is copied once.
 * Reading stops (TCP flow control) while more than `maxBufferSize` bytes wait unread, instead of
 * failing the way a libp2p stream's reader does.
 */
export function socketConn (socket: Socket, opts: { maxDataLength: number, maxBufferSize: number }): MessageConn {
  return new SocketConn(socket, opts)
}

class SocketConn implements MessageConn {
  /** received, unread bytes */
  private readonly received = new Uint8ArrayList()
  private ended = false
  private failure?: Error
  private wake?: () => void
  private readonly maxLengthLength: number

  constructor (private readonly socket: Socket, private readonly opts: { maxDataLength: number, maxBufferSize: number }) {
    this.maxLengthLength = lengthLength(opts.maxDataLength)
    const wake = (): void => { this.wake?.() }
    socket.on('data', (b: Buffer) => {
      this.received.append(b)
      // a frame of maxDataLength with its prefix always fits, so a paused reader never starves
      if (this.received.byteLength > opts.maxBufferSize + this.maxLengthLength) socket.pause()
      wake()
    })
    socket.on('end', () => { this.ended = true; wake() })
    socket.on('close', () => { this.ended = true; wake() })
    socket.on('error', (err: Error) => { this.failure ??= err; wake() })
  }

  get broken (): boolean {
    return this.socket.destroyed
  }

  async read (): Promise<Message> {
    while (true) {
      const frame = this.nextFrame()
      if (frame != null) return decodeMessage(frame)
      if (this.failure != null) throw this.failure
      if (this.ended) throw new ProtocolError('stream ended')
      await new Promise<void>(resolve => { this.wake = resolve })
      this.wake = undefined
    }
  }

  async write (message: Uint8Array): Promise<void> {
    await this.send(new Uint8ArrayList(new BinaryWriter().uint32(message.byteLength).finish(), message))
  }

  async send (frame: Uint8ArrayList): Promise<void> {
    let more = true
    this.socket.cork()
    for (const buf of frame) more = this.socket.write(buf)
    this.socket.uncork()
    if (!more) await this.drained()
  }

  async close (): Promise<void> {
    this.socket.end()
  }

  abort (err: Error): void {
    this.failure ??= err
    this.socket.destroy()
  }

  /** Resolves when the socket takes more; rejects when it closes first. */
  private async drained (): Promise<void> {
    const { socket } = this
    if (socket.destroyed) throw this.failure ?? new ProtocolError('stream ended')
    await new Promise<void>((resolve, reject) => {
      const done = (): void => { socket.off('close', closed); resolve() }
      const closed = (): void => { socket.off('drain', done); reject(this.failure ?? new ProtocolError('stream ended')) }
      socket.once('drain', done)
      socket.once('close', closed)
    })
  }

  /**
   * The next whole frame's payload, or undefined while it is incomplete. A frame within one
   * socket read is a view of it; `Uint8ArrayList.subarray` copies one spread over reads.
   * @throws InvalidDataLengthError, InvalidDataLengthLengthError (the limits `readLimitReason` knows)
   */
  private nextFrame (): Uint8Array | undefined {
    const { received } = this
    let length = 0
    let n = 0
    let complete = false
    while (!complete && n < received.byteLength && n < this.maxLengthLength) {
      const b = received.get(n)
      length += (b & 0x7f) * 2 ** (7 * n++)
      complete = b < 0x80
    }
    if (!complete) {
      if (n >= this.maxLengthLength) throw new InvalidDataLengthLengthError(`Message length length too long - more than ${this.maxLengthLength} bytes`)
      return undefined
    }
    if (length > this.opts.maxDataLength) throw new InvalidDataLengthError(`Message length too long - ${length} > ${this.opts.maxDataLength}`)
    if (received.byteLength < n + length) return undefined
    const frame = received.subarray(n, n + length)
    received.consume(n + length)
    if (this.socket.isPaused() && received.byteLength <= this.opts.maxBufferSize) this.socket.resume()
    return frame
  }
}
