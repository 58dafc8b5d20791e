import type { Socket } from 'node:net'
import type { Message } from '@codio/proto'
import { InvalidDataLengthError, InvalidDataLengthLengthError } from '@libp2p/utils'
import type { Uint8ArrayList } from 'uint8arraylist'
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
  /** received, unread bytes: `chunks[0]` from `offset` on, then the rest */
  private readonly chunks: Buffer[] = []
  private offset = 0
  private buffered = 0
  private ended = false
  private failure?: Error
  private wake?: () => void
  private readonly maxLengthLength: number

  constructor (private readonly socket: Socket, private readonly opts: { maxDataLength: number, maxBufferSize: number }) {
    this.maxLengthLength = lengthLength(opts.maxDataLength)
    const wake = (): void => { this.wake?.() }
    socket.on('data', (b: Buffer) => {
      this.chunks.push(b)
      this.buffered += b.byteLength
      // a frame of maxDataLength with its prefix always fits, so a paused reader never starves
      if (this.buffered > opts.maxBufferSize + this.maxLengthLength) socket.pause()
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
    const prefix = varint(message.byteLength)
    this.socket.cork()
    this.socket.write(prefix)
    const more = this.socket.write(message)
    this.socket.uncork()
    if (!more) await this.drained()
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
   * The next whole frame's payload, or undefined while it is incomplete.
   * @throws InvalidDataLengthError, InvalidDataLengthLengthError (the limits `readLimitReason` knows)
   */
  private nextFrame (): Uint8Array | undefined {
    let length = 0
    let n = 0
    let complete = false
    for (let c = 0, at = this.offset; c < this.chunks.length && n < this.maxLengthLength && !complete;) {
      const chunk = this.chunks[c]
      if (at >= chunk.byteLength) { c++; at = 0; continue }
      const b = chunk[at++]
      length += (b & 0x7f) * 2 ** (7 * n++)
      complete = b < 0x80
    }
    if (!complete) {
      if (n >= this.maxLengthLength) throw new InvalidDataLengthLengthError(`Message length length too long - more than ${this.maxLengthLength} bytes`)
      return undefined
    }
    if (length > this.opts.maxDataLength) throw new InvalidDataLengthError(`Message length too long - ${length} > ${this.opts.maxDataLength}`)
    if (this.buffered < n + length) return undefined
    this.skip(n)
    const frame = this.take(length)
    if (this.socket.isPaused() && this.buffered <= this.opts.maxBufferSize) this.socket.resume()
    return frame
  }

  private skip (n: number): void {
    this.buffered -= n
    while (n > 0) {
      const left = this.chunks[0].byteLength - this.offset
      if (n < left) {
        this.offset += n
        return
      }
      n -= left
      this.chunks.shift()
      this.offset = 0
    }
  }

  private take (length: number): Uint8Array {
    const first = this.chunks[0]
    if (first != null && first.byteLength - this.offset >= length) {
      const view = first.subarray(this.offset, this.offset + length)
      this.skip(length)
      return view
    }
    const out = Buffer.allocUnsafe(length)
    let filled = 0
    while (filled < length) {
      const chunk = this.chunks[0]
      const n = Math.min(length - filled, chunk.byteLength - this.offset)
      chunk.copy(out, filled, this.offset, this.offset + n)
      filled += n
      this.skip(n)
    }
    return out
  }
}

/** Unsigned LEB128 of `n` (a frame's length prefix). */
function varint (n: number): Uint8Array {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80)
    n = Math.floor(n / 0x80)
  }
  out.push(n)
  return Uint8Array.from(out)
}
