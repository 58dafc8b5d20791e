import { createServer, Socket } from 'node:net'

/** A TCP port on `host` that nobody listened on a moment ago (the OS picks it). */
export async function freePort (host = '127.0.0.1'): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, host, resolve)
  })
  const address = server.address()
  await new Promise<void>(resolve => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  return address.port
}

/**
 * One protocol-level readiness probe: connect to `host:port`, optionally write `hello`, and
 * resolve true once the bytes received start with `expect`; false on refusal, a different
 * answer, or no answer within `timeoutMs`.
 */
export async function probe (host: string, port: number, expect: string, hello?: string, timeoutMs = 500): Promise<boolean> {
  return new Promise(resolve => {
    const socket = new Socket()
    let received = ''
    const done = (ok: boolean): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve(ok)
    }
    const timer = setTimeout(() => done(false), timeoutMs)
    socket.once('error', () => done(false))
    socket.on('data', (b: Buffer) => {
      received += b.toString('latin1')
      if (received.length >= expect.length) done(received.startsWith(expect))
    })
    socket.once('close', () => done(false))
    socket.connect(port, host, () => { if (hello !== undefined) socket.write(hello) })
  })
}
