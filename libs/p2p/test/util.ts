import type { Stream } from '@libp2p/interface'

// test nodes: startTestNode / stopTestNodes in ../src/testing.ts; waiting: until from @codio/testing

export const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** Write `data` to `stream` in 64 KiB pieces, waiting for drain when the stream asks to. */
export async function sendAll (stream: Stream, data: Uint8Array): Promise<void> {
  for (let off = 0; off < data.length; off += 65_536) {
    if (!stream.send(data.subarray(off, off + 65_536))) await stream.onDrain()
  }
}

/** Read `stream` to its end, concatenated. */
export async function readAll (stream: Stream): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  let n = 0
  for await (const chunk of stream) {
    const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray()
    parts.push(bytes)
    n += bytes.length
  }
  const out = new Uint8Array(n)
  let off = 0
  for (const p of parts) {
    out.set(p, off)
    off += p.length
  }
  return out
}

/** Echo server for a test protocol: send every received byte back, then close. */
export function echo (stream: Stream): void {
  void (async () => {
    for await (const chunk of stream) {
      if (!stream.send(chunk)) await stream.onDrain()
    }
    await stream.close()
  })().catch(err => stream.abort(err))
}

/** Reject with an Error naming `what` when `p` does not settle within `ms`. */
export async function within<T> (p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([p, new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { reject(new Error(`${what} took more than ${ms} ms`)) }, ms)
    })])
  } finally {
    clearTimeout(timer)
  }
}
