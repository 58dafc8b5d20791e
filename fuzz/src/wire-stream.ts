import { AbstractStream, type SendResult } from '@libp2p/utils'
import { defaultLogger } from '@libp2p/logger'
import { Uint8ArrayList } from 'uint8arraylist'

const log = defaultLogger().forComponent('codio:fuzz:stream')
let ids = 0

/**
 * The local end of a libp2p stream (`AbstractStream` of @libp2p/utils, the base of yamux's and
 * mplex's streams) whose remote end is the fuzzer: it delivers bytes as a muxer does
 * (`onData`, in any split), then closes its side (`onRemoteCloseWrite`) or resets
 * (`onRemoteReset`). What the local side sends is kept in {@link sent}.
 */
export class WireStream extends AbstractStream {
  readonly sent = new Uint8ArrayList()

  constructor () {
    super({ id: `fuzz-${ids++}`, direction: 'inbound', log })
  }

  sendData (data: Uint8ArrayList): SendResult {
    this.sent.append(data)
    return { sentBytes: data.byteLength, canSendMore: true }
  }

  sendReset (): void {}
  async sendCloseWrite (): Promise<void> {}
  async sendCloseRead (): Promise<void> {}
  sendPause (): void {}
  sendResume (): void {}
}

/** A macrotask turn: lets a reader take what was delivered so far. */
export const turn = async (): Promise<void> => { await new Promise<void>(resolve => setImmediate(resolve)) }

/**
 * Deliver `bytes` to `stream` cut at `cuts` (positions, any order, out-of-range ones ignored),
 * with a macrotask turn after the pieces whose `pauses` entry is true; then end the remote's
 * side: `close` (a clean half-close) or `reset`.
 */
export async function deliver (stream: WireStream, bytes: Uint8Array, cuts: number[], pauses: boolean[], end: 'close' | 'reset'): Promise<void> {
  const at = [...new Set(cuts.filter(c => c > 0 && c < bytes.byteLength))].sort((a, b) => a - b)
  let from = 0
  for (const [i, to] of [...at, bytes.byteLength].entries()) {
    if (stream.readStatus === 'closed' || stream.status !== 'open') break
    stream.onData(bytes.subarray(from, to))
    from = to
    if (pauses[i % Math.max(1, pauses.length)] === true) await turn()
  }
  if (end === 'close') stream.onRemoteCloseWrite()
  else stream.onRemoteReset()
}

/** The unsigned LEB128 varint of `n` with `pad` redundant continuation bytes (an overlong, still valid, encoding). */
export function varint (n: number, pad = 0): Uint8Array {
  const out: number[] = []
  do {
    out.push(n % 128)
    n = Math.floor(n / 128)
  } while (n > 0)
  for (let i = 0; i < pad; i++) out.push(0)
  for (let i = 0; i < out.length - 1; i++) out[i] |= 0x80
  return Uint8Array.from(out)
}

export function concat (parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.byteLength }
  return out
}
