import { readFileSync } from 'node:fs'
import { createServer, Socket } from 'node:net'

/** Ports handed out by this process, so two callers never get the same one. */
const handedOut = new Set<number>()

/**
 * Lowest port of the kernel's ephemeral range (Linux `ip_local_port_range`; 32768 elsewhere).
 * Ports below it are never given to outgoing connections.
 */
function readEphemeralLow (): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
    return Number.isInteger(low) && low > 2048 ? low : 32768
  } catch {
    return 32768
  }
}

/** read once, on first use */
let ephemeralLowPort: number | undefined
const ephemeralLow = (): number => (ephemeralLowPort ??= readEphemeralLow())

async function canListen (port: number, host: string): Promise<boolean> {
  const server = createServer()
  const ok = await new Promise<boolean>(resolve => {
    server.once('error', () => resolve(false))
    server.listen(port, host, () => resolve(true))
  })
  if (ok) await new Promise<void>(resolve => server.close(() => resolve()))
  return ok
}

/**
 * A TCP port on `host` that nobody listens on, for a child process to bind. It is taken from
 * below the ephemeral range: a port the OS picked (`listen(0)`) lies inside it, and every
 * outgoing connection on the machine may take it as its local port before the child binds
 * (EADDRINUSE under a busy libp2p swarm). Never the same port twice in one process.
 *
 * @throws Error no free port found after 200 tries
 */
export async function freePort (host = '127.0.0.1'): Promise<number> {
  const high = ephemeralLow()
  const low = Math.min(10_000, high - 1024)
  for (let i = 0; i < 200; i++) {
    const port = low + Math.floor(Math.random() * (high - low))
    if (handedOut.has(port) || !(await canListen(port, host))) continue
    handedOut.add(port)
    return port
  }
  throw new Error(`no free TCP port on ${host} in ${low}-${high - 1}`)
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
