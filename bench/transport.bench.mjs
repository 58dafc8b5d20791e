#!/usr/bin/env node
/**
 * Transport benchmark: throughput and CPU cost of moving bulk data over each transport Codio
 * could use, side by side in one run, every row measured the same way. Two OS processes on
 * loopback (this file forks itself as a server and a client); on ONE connection (one stream
 * for the libp2p rows, one session for HTTP/2) the client sends small requests (a 4-byte
 * request id, length-prefixed) and the server answers each with a 1 MiB response whose first
 * 4 bytes carry that id, 8 requests in flight, until BENCH_TRANSPORT_MIB MiB have been
 * received. Every response is checked against the requests in flight and the bytes received
 * are counted. Measured over the transfer only (after the connection is up and a warm-up of
 * BENCH_TRANSPORT_WARMUP_MIB): wall time (MB/s, 10^6 bytes/s) and the user + system CPU of
 * both processes (/proc, bench/cpu.mjs) per GB (10^9 bytes) received.
 *
 * Rows (keys): net (node:net, 4-byte length prefix), tls (node:tls, TLS 1.3, OpenSSL's default
 * cipher, self-signed certificate made with the openssl CLI), http2 (node:http2 over TLS, 8
 * concurrent GETs; stream window 16 MiB, session window 64 MiB), noise (js-libp2p TCP + Noise
 * with Codio's `noiseCrypto` + Yamux), noise-yamux-defaults (the same with Yamux's default
 * windows: 256 KiB, growing to 16 MiB), libp2p-tls (TCP + @libp2p/tls + Yamux), quic
 * (@chainsafe/libp2p-quic, its default flow-control windows, 10 MB per stream, already more
 * than 8 MiB). Yamux "large windows": initialStreamWindowSize = maxStreamWindowSize = 16 MiB
 * on both ends (both must agree: the spec's initial window is 256 KiB). libp2p rows use
 * `lpStream` (varint frames) from @libp2p/utils as libs/exchange does, 64 MiB read buffer.
 * Codio's own block exchange, end to end (ChunkExchange.fetch of 1 MiB chunks by CID, each
 * verified against its SHA-256 on arrival, on Codio's libp2p node from @codio/p2p): exchange
 * (on a libp2p stream: TCP + Noise + Yamux) and exchange-bulk (on its bulk channel: a direct
 * TLS 1.3 connection, certificates bound to the peer IDs).
 *
 *   npm run bench:transport
 *   BENCH_TRANSPORT_MIB=1024 (received per measurement) BENCH_TRANSPORT_ROUNDS=3
 *   BENCH_TRANSPORT_ROWS=net,tls,http2,noise,libp2p-tls,quic,exchange,exchange-bulk (default; noise-yamux-defaults is
 *   off by default: on loopback it measured within noise of the large-window row)
 *   BENCH_TRANSPORT_WARMUP_MIB=32 (per measurement, before the clock starts)
 *
 * Rounds go round-robin over the rows, so machine noise hits all alike; figures are medians.
 * Prints a table, then one JSON line of every figure.
 */
import { execFileSync, fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import http2 from 'node:http2'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import tls from 'node:tls'
import { noise } from '@chainsafe/libp2p-noise'
import { quic } from '@chainsafe/libp2p-quic'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { tls as libp2pTls } from '@libp2p/tls'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { Uint8ArrayList } from 'uint8arraylist'
import { chunkCid } from '@codio/content'
import { chunkExchange } from '@codio/exchange'
import { createP2PNode, noiseCrypto } from '@codio/p2p'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { cpuMeter } from './cpu.mjs'

const MiB = 1024 * 1024
const RESPONSE = MiB // bytes of one response; its first 4 are the request id
const DEPTH = 8 // requests in flight
const WINDOW = 16 * MiB // per-stream flow-control window of the "large windows" rows
const TOTAL_MIB = Number(process.env.BENCH_TRANSPORT_MIB ?? 1024)
const WARMUP_MIB = Number(process.env.BENCH_TRANSPORT_WARMUP_MIB ?? 32)
const ROUNDS = Number(process.env.BENCH_TRANSPORT_ROUNDS ?? 3)
const PROTOCOL = '/codio/bench-transport/1.0.0'
const LP = { maxDataLength: 2 * MiB, maxBufferSize: 64 * MiB }
const YAMUX_LARGE = { streamOptions: { initialStreamWindowSize: WINDOW, maxStreamWindowSize: WINDOW } }
const BODY = randomBytes(RESPONSE - 4)

const u32 = n => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b }
const varint = n => { const out = []; while (n >= 0x80) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128) } out.push(n); return Uint8Array.from(out) }

/**
 * Client bookkeeping shared by every row: issues requests 0..n-1 through `send(id)`, at most
 * DEPTH in flight; `done(id, bytes)` takes each response (id read from its first bytes) and
 * fails on one for a request not in flight. `promise` gives the bytes received.
 */
function pump (n, send) {
  const pending = new Set()
  let next = 0
  let bytes = 0
  const { promise, resolve, reject } = Promise.withResolvers()
  const fill = () => { while (next < n && pending.size < DEPTH) { pending.add(next); send(next++) } }
  const done = (id, size) => {
    if (!pending.delete(id)) return reject(new Error(`response for request ${id}, which is not in flight`))
    bytes += size
    if (next === n && pending.size === 0) resolve(bytes)
    else fill()
  }
  if (n === 0) resolve(0)
  else queueMicrotask(fill)
  return { promise, done, fail: reject }
}

/** 4-byte big-endian length-prefixed frames out of a byte stream, for node:net and node:tls. */
function frameReader (onFrame) {
  const buf = new Uint8ArrayList()
  return chunk => {
    buf.append(chunk)
    while (buf.byteLength >= 4) {
      const len = buf.getUint32(0)
      if (buf.byteLength < 4 + len) return
      onFrame(buf.sublist(4, 4 + len))
      buf.consume(4 + len)
    }
  }
}

// ---- node:net and node:tls: the same framing over a socket --------------------------------

function serveSocket (socket) {
  socket.setNoDelay(true)
  socket.on('error', () => {})
  socket.on('data', frameReader(req => {
    socket.cork()
    socket.write(Buffer.concat([u32(RESPONSE), u32(req.getUint32(0))]))
    socket.write(BODY)
    socket.uncork()
  }))
}

function socketClient (socket, info) {
  socket.setNoDelay(true)
  let current
  socket.on('data', frameReader(frame => current.done(frame.getUint32(0), frame.byteLength)))
  socket.on('error', err => current?.fail(err))
  return {
    info,
    run (n) { current = pump(n, id => socket.write(Buffer.concat([u32(4), u32(id)]))); return current.promise },
    close: () => new Promise(resolve => { socket.once('close', resolve); socket.end() })
  }
}

async function listen (server) {
  await new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve))
  return { addr: String(server.address().port), close: () => new Promise(resolve => server.close(resolve)) }
}

const tlsInfo = s => `${s.getProtocol()} ${s.getCipher().standardName}`
const certs = dir => ({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) })

async function netServer () {
  return listen(net.createServer(serveSocket))
}
async function netClient (port) {
  const socket = net.connect(Number(port), '127.0.0.1')
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject))
  return socketClient(socket, 'TCP')
}

async function tlsServer (dir) {
  return listen(tls.createServer({ ...certs(dir), minVersion: 'TLSv1.3' }, serveSocket))
}
async function tlsClient (port) {
  const socket = tls.connect({ port: Number(port), host: '127.0.0.1', minVersion: 'TLSv1.3', rejectUnauthorized: false })
  await new Promise((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject))
  return socketClient(socket, tlsInfo(socket))
}

// ---- node:http2 over TLS: one session, a GET per request, the id in the x-id header -------

const H2 = { settings: { initialWindowSize: WINDOW }, maxSessionMemory: 256 }

async function http2Server (dir) {
  const server = http2.createSecureServer({ ...certs(dir), ...H2, minVersion: 'TLSv1.3', noDelay: true })
  server.on('session', session => session.setLocalWindowSize(4 * WINDOW))
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {})
    stream.respond({ ':status': 200, 'content-length': RESPONSE })
    stream.write(u32(Number(headers['x-id'])))
    stream.end(BODY)
  })
  return listen(server) // closes once the client (which quits first) has closed its session
}
async function http2Client (port) {
  const session = http2.connect(`https://127.0.0.1:${port}`, { ...H2, rejectUnauthorized: false, minVersion: 'TLSv1.3' })
  await new Promise((resolve, reject) => session.once('connect', resolve).once('error', reject))
  session.setLocalWindowSize(4 * WINDOW)
  let current
  const get = id => {
    const req = session.request({ ':path': '/', 'x-id': String(id) }, { endStream: true })
    let head = Buffer.alloc(0)
    let size = 0
    req.on('data', chunk => { if (head.length < 4) head = Buffer.concat([head, chunk.subarray(0, 4)]); size += chunk.length })
    req.on('end', () => current.done(head.readUInt32BE(0), size))
    req.on('error', err => current.fail(err))
  }
  return {
    info: `HTTP/2 ${tlsInfo(session.socket)}`,
    run (n) { current = pump(n, get); return current.promise },
    close: () => new Promise(resolve => session.close(resolve))
  }
}

// ---- js-libp2p: one stream, varint-length-prefixed frames (lpStream, as libs/exchange) -----

const libp2pStacks = {
  noise: { transports: [tcp()], connectionEncrypters: [noise({ crypto: noiseCrypto })], streamMuxers: [yamux(YAMUX_LARGE)] },
  'noise-yamux-defaults': { transports: [tcp()], connectionEncrypters: [noise({ crypto: noiseCrypto })], streamMuxers: [yamux()] },
  'libp2p-tls': { transports: [tcp()], connectionEncrypters: [libp2pTls()], streamMuxers: [yamux(YAMUX_LARGE)] },
  quic: { transports: [quic()], connectionEncrypters: [], streamMuxers: [] }
}

const libp2pNode = (row, listen = []) => createLibp2p({ ...libp2pStacks[row], addresses: { listen }, connectionMonitor: { enabled: false } })

async function libp2pServer (_dir, row) {
  const node = await libp2pNode(row, [row === 'quic' ? '/ip4/127.0.0.1/udp/0/quic-v1' : '/ip4/127.0.0.1/tcp/0'])
  await node.handle(PROTOCOL, async stream => {
    const lp = lpStream(stream, LP)
    try {
      while (true) {
        const req = await lp.read()
        stream.send(new Uint8ArrayList(varint(RESPONSE), u32(req.getUint32(0)), BODY))
      }
    } catch {} // the client went away
  })
  return { addr: node.getMultiaddrs()[0].toString(), close: () => node.stop() }
}
async function libp2pClient (addr, row) {
  const node = await libp2pNode(row)
  const stream = await node.dialProtocol(multiaddr(addr), PROTOCOL)
  const conn = node.getConnections()[0]
  const lp = lpStream(stream, LP)
  return {
    info: [conn.encryption, conn.multiplexer].filter(Boolean).join(' '),
    run (n) {
      const p = pump(n, id => { lp.write(u32(id)).catch(p.fail) })
      ;(async () => {
        for (let i = 0; i < n; i++) {
          const frame = await lp.read()
          p.done(frame.getUint32(0), frame.byteLength)
        }
      })().catch(p.fail)
      return p.promise
    },
    close: async () => { await stream.close(); await node.stop() }
  }
}

// ---- Codio's block exchange: ChunkExchange.fetch, verified, on a libp2p stream or the bulk channel

/** The server's blocks, the same in both processes: 64 chunks of RESPONSE bytes, by index. */
const EXCHANGE_BLOCKS = Array.from({ length: 64 }, (_, i) => Buffer.alloc(RESPONSE).fill(`codio bench chunk ${i} `))
const EXCHANGE_CIDS = EXCHANGE_BLOCKS.map(b => chunkCid(b))

async function exchangeNode (row, listen = []) {
  const blocks = new Map(EXCHANGE_CIDS.map((cid, i) => [cid.toString(), EXCHANGE_BLOCKS[i]]))
  const node = await createP2PNode({
    privateKey: await generateKeyPair('Ed25519'),
    listen,
    quic: false,
    services: { exchange: chunkExchange({ blocks: { get: async cid => blocks.get(cid.toString()) }, bulk: row === 'exchange-bulk' ? {} : undefined }) }
  })
  await node.start()
  return node
}
async function exchangeServer (_dir, row) {
  const node = await exchangeNode(row, ['/ip4/127.0.0.1/tcp/0'])
  return { addr: node.getMultiaddrs()[0].toString(), close: () => node.stop() }
}
async function exchangeClient (addr, row) {
  const node = await exchangeNode(row)
  const conn = await node.dial(multiaddr(addr))
  const { exchange } = node.services
  return {
    info: row === 'exchange-bulk' ? 'bulk channel' : [conn.encryption, conn.multiplexer].filter(Boolean).join(' '),
    run (n) {
      const p = pump(n, id => {
        exchange.fetch(conn.remotePeer, EXCHANGE_CIDS[id % EXCHANGE_CIDS.length]).then(bytes => p.done(id, bytes.byteLength), p.fail)
      })
      return p.promise
    },
    close: async () => { await node.stop() }
  }
}

const ROWS = {
  net: { label: 'plain TCP (node:net)', server: netServer, client: netClient },
  tls: { label: 'node:tls', server: tlsServer, client: tlsClient },
  http2: { label: 'node:http2 over TLS', server: http2Server, client: http2Client },
  noise: { label: 'libp2p TCP+Noise(noiseCrypto)+Yamux', server: libp2pServer, client: libp2pClient },
  'noise-yamux-defaults': { label: '  the same, Yamux default windows', server: libp2pServer, client: libp2pClient },
  'libp2p-tls': { label: 'libp2p TCP+@libp2p/tls+Yamux', server: libp2pServer, client: libp2pClient },
  quic: { label: 'libp2p QUIC (@chainsafe/libp2p-quic)', server: libp2pServer, client: libp2pClient },
  exchange: { label: 'Codio exchange, libp2p stream', server: exchangeServer, client: exchangeClient },
  'exchange-bulk': { label: 'Codio exchange, bulk channel', server: exchangeServer, client: exchangeClient }
}

// ---- child processes -------------------------------------------------------------------

const nextMessage = type => new Promise(resolve => process.on('message', function on (m) {
  if (m.type === type) { process.off('message', on); resolve(m) }
}))

async function child ([role, row, dir, addr]) {
  try {
    if (role === 'server') {
      const server = await ROWS[row].server(dir, row)
      process.send({ type: 'listening', addr: server.addr })
      await nextMessage('quit')
      await server.close()
    } else {
      const client = await ROWS[row].client(addr, row)
      await client.run(WARMUP_MIB)
      process.send({ type: 'ready', info: client.info })
      await nextMessage('go')
      const bytes = await client.run(TOTAL_MIB)
      process.send({ type: 'done', bytes })
      await nextMessage('quit')
      await client.close()
    }
    process.exit(0)
  } catch (err) {
    process.send({ type: 'error', message: err.stack ?? String(err) })
    process.exit(1)
  }
}

// ---- the parent ------------------------------------------------------------------------

/** The next message of `type` from `proc`; rejects on an error message or an early exit. */
const expect = (proc, type) => new Promise((resolve, reject) => {
  const onExit = code => reject(new Error(`${type}: child exited with code ${code}`))
  proc.once('exit', onExit)
  proc.on('message', function on (m) {
    if (m.type !== type && m.type !== 'error') return
    proc.off('message', on)
    proc.off('exit', onExit)
    m.type === 'error' ? reject(new Error(m.message)) : resolve(m)
  })
})
const exited = proc => proc.exitCode != null ? Promise.resolve(proc.exitCode) : new Promise(resolve => proc.once('exit', resolve))

async function measure (row, dir) {
  const self = new URL(import.meta.url).pathname
  const procs = []
  try {
    const server = fork(self, ['server', row, dir])
    procs.push(server)
    const { addr } = await expect(server, 'listening')
    const client = fork(self, ['client', row, dir, addr])
    procs.push(client)
    const { info } = await expect(client, 'ready')
    const meter = await cpuMeter([{ name: 'server', pid: server.pid }, { name: 'client', pid: client.pid }])
    const t0 = performance.now()
    client.send({ type: 'go' })
    const { bytes } = await expect(client, 'done')
    const seconds = (performance.now() - t0) / 1000
    const cpu = await meter.stop()
    const expected = TOTAL_MIB * RESPONSE
    if (bytes !== expected) throw new Error(`received ${bytes} bytes, expected ${expected}`)
    const codes = []
    for (const p of [client, server]) { p.send({ type: 'quit' }); codes.push(await exited(p)) } // client first: it closes its side
    if (codes.some(c => c !== 0)) throw new Error(`children exited with ${codes}`)
    return { info, seconds, bytes, MBps: bytes / 1e6 / seconds, cpuPerGB: cpu.total / (bytes / 1e9), cpu }
  } finally {
    for (const p of procs) if (p.exitCode == null && p.signalCode == null) { p.kill(); await exited(p) }
  }
}

async function main () {
  const keys = (process.env.BENCH_TRANSPORT_ROWS ?? 'net,tls,http2,noise,libp2p-tls,quic,exchange,exchange-bulk').split(',').filter(Boolean)
  for (const k of keys) if (ROWS[k] == null) throw new Error(`unknown row ${k}; rows: ${Object.keys(ROWS).join(',')}`)
  const dir = mkdtempSync(join(tmpdir(), 'codio-bench-transport-'))
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' })
    const runs = Object.fromEntries(keys.map(k => [k, []]))
    const skipped = {}
    for (let r = 0; r < ROUNDS; r++) {
      for (const k of keys) {
        if (skipped[k] != null) continue
        try {
          const m = await measure(k, dir)
          runs[k].push(m)
          console.error(`round ${r + 1}/${ROUNDS} ${k.padEnd(20)} ${m.MBps.toFixed(0).padStart(5)} MB/s ${m.cpuPerGB.toFixed(2).padStart(6)} CPU-s/GB (server ${m.cpu.byName.server} s, client ${m.cpu.byName.client} s)  ${m.info}`)
        } catch (err) {
          skipped[k] = err.message.split('\n')[0]
          console.error(`round ${r + 1}/${ROUNDS} ${k}: skipped: ${skipped[k]}`)
        }
      }
    }
    const median = a => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]
    const rows = keys.filter(k => runs[k].length > 0 && skipped[k] == null).map(k => ({
      key: k,
      label: ROWS[k].label,
      info: runs[k][0].info,
      MBps: Math.round(median(runs[k].map(m => m.MBps))),
      cpuPerGB: +median(runs[k].map(m => m.cpuPerGB)).toFixed(2),
      serverCpuPerGB: +median(runs[k].map(m => m.cpu.byName.server / (m.bytes / 1e9))).toFixed(2),
      clientCpuPerGB: +median(runs[k].map(m => m.cpu.byName.client / (m.bytes / 1e9))).toFixed(2),
      runs: runs[k].map(m => ({ MBps: Math.round(m.MBps), cpuPerGB: +m.cpuPerGB.toFixed(2), seconds: +m.seconds.toFixed(3) }))
    }))
    const base = rows.find(r => r.key === 'net') ?? rows[0]
    for (const r of rows) r.cpuRatio = +(r.cpuPerGB / base.cpuPerGB).toFixed(2)
    console.log(`Request/response over one connection, ${DEPTH} × ${RESPONSE / MiB} MiB in flight, ${TOTAL_MIB} MiB received per run, median of ${ROUNDS} rounds, client + server CPU (this machine)`)
    console.log(`  ${'transport'.padEnd(38)} ${'MB/s'.padStart(6)} ${'CPU-s/GB'.padStart(9)} ${`× ${base.key}`.padStart(8)}  negotiated`)
    for (const r of rows) console.log(`  ${r.label.padEnd(38)} ${String(r.MBps).padStart(6)} ${r.cpuPerGB.toFixed(2).padStart(9)} ${r.cpuRatio.toFixed(2).padStart(8)}  ${r.info}`)
    for (const [k, why] of Object.entries(skipped)) console.log(`  ${ROWS[k].label.padEnd(38)} skipped: ${why}`)
    console.log(JSON.stringify({ bench: 'transport', mib: TOTAL_MIB, warmupMib: WARMUP_MIB, responseBytes: RESPONSE, depth: DEPTH, rounds: ROUNDS, yamux: YAMUX_LARGE, http2Window: WINDOW, rows, skipped }))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[2] === 'server' || process.argv[2] === 'client') await child(process.argv.slice(2))
else await main()
