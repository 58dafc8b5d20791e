#!/usr/bin/env node
/**
 * What libp2p's own metrics (`@libp2p/prometheus-metrics`, on in every Codio peer) cost on the
 * data path: two pairs of Codio libp2p nodes (TCP, Noise, Yamux on loopback) in this process,
 * one pair with the metrics and one without, each sending BENCH_METRICS_MIB through one stream
 * in 1 MiB messages (a chunk's size); rounds alternate between the pairs so that a noisy
 * neighbour hits both alike. The figure is CPU time per MiB moved (both ends, this process),
 * median of the rounds, and the ratio with/without. The metrics wrap every stream's `send` and
 * message dispatch with a counter update, per message, not per byte.
 *
 *   npm run bench:libp2p-metrics      (BENCH_METRICS_MIB=256, BENCH_METRICS_ROUNDS=7)
 *
 * Prints a table, then one JSON line of the figures.
 */
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { startTestNode } from '@codio/p2p/testing'
import { Registry } from 'prom-client'

const MiB = 1024 * 1024
const TOTAL = Number(process.env.BENCH_METRICS_MIB ?? 256)
const ROUNDS = Number(process.env.BENCH_METRICS_ROUNDS ?? 7)
const PROTOCOL = '/codio/bench-sink/1.0.0'
const median = a => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]

/** A sender and a receiver; the receiver counts what arrives on PROTOCOL. */
async function pair (withMetrics) {
  const registry = new Registry()
  const metrics = () => withMetrics ? { metrics: prometheusMetrics({ registry, collectDefaultMetrics: false, preserveExistingMetrics: true }) } : {}
  const receiver = await startTestNode(metrics())
  const sender = await startTestNode(metrics())
  let received = 0
  let waiting
  await receiver.handle(PROTOCOL, async (stream) => {
    for await (const chunk of stream) {
      received += chunk.byteLength
      if (waiting != null && received >= waiting.bytes) waiting.resolve()
    }
  })
  await sender.dial(receiver.getMultiaddrs()[0])
  return {
    /** Sends `mib` MiB in 1 MiB messages; resolves when the receiver has all of it. */
    async send (mib) {
      const stream = await sender.dialProtocol(receiver.peerId, PROTOCOL)
      const block = new Uint8Array(MiB).fill(7)
      received = 0
      const arrived = new Promise(resolve => { waiting = { bytes: mib * MiB, resolve } })
      for (let i = 0; i < mib; i++) {
        if (!stream.send(block)) await stream.onDrain()
      }
      await arrived
      await stream.close()
    },
    /** The bytes libp2p's metrics counted arriving on PROTOCOL since the last call (its counter group resets on collection). */
    async counted () {
      const m = new RegExp(`^libp2p_data_transfer_bytes_total\\{protocol="${PROTOCOL} received"\\} (\\d+)`, 'm').exec(await registry.metrics())
      return Number(m?.[1] ?? 0)
    },
    async stop () { await Promise.all([sender.stop(), receiver.stop()]) }
  }
}

const pairs = { 'without metrics': await pair(false), 'with libp2p metrics': await pair(true) }
const cpuMsPerMiB = Object.fromEntries(Object.keys(pairs).map(k => [k, []]))
for (const p of Object.values(pairs)) await p.send(32) // warm-up
// the premise: the metrics do count this traffic (and the pair without them has none to count)
const counted = await pairs['with libp2p metrics'].counted()
if (counted < 32 * MiB) throw new Error(`libp2p's metrics counted ${counted} bytes of the 32 MiB warm-up: they are not on the data path`)
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, p] of Object.entries(pairs)) {
    const before = process.cpuUsage()
    await p.send(TOTAL)
    const used = process.cpuUsage(before)
    cpuMsPerMiB[name].push((used.user + used.system) / 1000 / TOTAL)
  }
}
for (const p of Object.values(pairs)) await p.stop()

const rows = Object.entries(cpuMsPerMiB).map(([name, v]) => ({ name, cpuMsPerMiB: median(v) }))
const ratio = rows[1].cpuMsPerMiB / rows[0].cpuMsPerMiB
console.log(`${TOTAL} MiB per round through one libp2p stream (TCP, Noise, Yamux; loopback; both ends in this process), median of ${ROUNDS} rounds`)
console.log('  pair                     CPU ms/MiB   ×')
for (const r of rows) console.log(`  ${r.name.padEnd(24)} ${r.cpuMsPerMiB.toFixed(2).padStart(10)}   ${(r.cpuMsPerMiB / rows[0].cpuMsPerMiB).toFixed(3)}`)
console.log(JSON.stringify({ bench: 'libp2p-metrics', mib: TOTAL, rounds: ROUNDS, cpuMsPerMiB: Object.fromEntries(rows.map(r => [r.name, +r.cpuMsPerMiB.toFixed(3)])), ratio: +ratio.toFixed(3) }))
