import { readFileSync } from 'node:fs'
import { createSocket } from 'node:dgram'
import { createServer, Socket } from 'node:net'

/** Ports handed out by this process, per protocol, so two callers never get the same one. */
const handedOut = { tcp: new Set<number>(), udp: new Set<number>() }

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

async function canBindUdp (port: number, host: string): Promise<boolean> {
  const socket = createSocket('udp4')
  const ok = await new Promise<boolean>(resolve => {
    socket.once('error', () => resolve(false))
    socket.bind(port, host, () => resolve(true))
  })
  if (ok) await new Promise<void>(resolve => socket.close(() => resolve()))
  return ok
}

async function pick (protocol: 'tcp' | 'udp', host: string): Promise<number> {
  const high = ephemeralLow()
  const low = Math.min(10_000, high - 1024)
  const free = protocol === 'tcp' ? canListen : canBindUdp
  for (let i = 0; i < 200; i++) {
    const port = low + Math.floor(Math.random() * (high - low))
    if (handedOut[protocol].has(port) || !(await free(port, host))) continue
    handedOut[protocol].add(port)
    return port
  }
  throw new Error(`no free ${protocol.toUpperCase()} port on ${host} in ${low}-${high - 1}`)
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
  return await pick('tcp', host)
}

/**
 * A UDP port on `host` (IPv4) that nobody has bound, for a child's QUIC listener; below the
 * ephemeral range for the reason {@link freePort} gives. Never the same port twice in one process.
 *
 * @throws Error no free port found after 200 tries
 */
export async function freeUdpPort (host = '127.0.0.1'): Promise<number> {
  return await pick('udp', host)
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
