#!/usr/bin/env node
/**
 * Piece-picker benchmark: the cost of one rarest-first pick (BEP 3) with @codio/swarm's
 * PiecePicker (availability buckets, O(1) amortised per pick) against a baseline in the same
 * run: the textbook picker that scans every piece for the rarest one the peer has (O(pieces)
 * per pick). Same workload for both, from the same seed: P pieces, 50 peers (5 seeds, 20 holding
 * ~60 %, 25 holding ~5 %), 10,000 picks with 32 requests in flight, a `have` every 10 picks.
 * Moved here from picker.test.ts (issue 21: wall-clock speed belongs in benchmarks).
 *
 *   npm run bench:picker
 *   BENCH_PICKER_PIECES=2000,20000 BENCH_PICKER_PICKS=10000 BENCH_PICKER_RUNS=5
 *
 * Prints per P the median over runs of µs per pick for each picker and their ratio (target:
 * PiecePicker ≤ 1 ms per pick at 20,000 pieces, and faster than the scan), then one JSON line.
 * Bounded by one core of the JS thread; the machine may be shared, so compare the ratio.
 */
import { performance } from 'node:perf_hooks'
import { Bitfield, PiecePicker } from '@codio/swarm'
import { seeded } from '@codio/testing'

const SIZES = (process.env.BENCH_PICKER_PIECES ?? '2000,20000').split(',').map(Number)
const PICKS = Number(process.env.BENCH_PICKER_PICKS ?? 10_000)
const RUNS = Number(process.env.BENCH_PICKER_RUNS ?? 5)
const PEERS = 50

/** The baseline: rarest first by scanning every piece (ties to the lowest index). */
class ScanPicker {
  constructor (pieces) {
    this.pieces = pieces
    this.count = new Int32Array(pieces)
    this.ours = new Uint8Array(pieces)
    this.held = new Map()
  }

  addPeer (peer, has) {
    const bits = new Uint8Array(this.pieces)
    for (let i = 0; i < this.pieces; i++) if (has === 'all' || has.has(i)) { bits[i] = 1; this.count[i]++ }
    this.held.set(peer, bits)
  }

  have (peer, i) {
    const bits = this.held.get(peer)
    if (bits[i] === 0) { bits[i] = 1; this.count[i]++ }
  }

  weHave (i) { this.ours[i] = 1 }

  pick (peer, eligible) {
    const bits = this.held.get(peer)
    let best = -1
    for (let i = 0; i < this.pieces; i++) {
      if (bits[i] === 1 && this.ours[i] === 0 && (best < 0 || this.count[i] < this.count[best]) && eligible(i)) best = i
    }
    return best < 0 ? undefined : best
  }
}

/** One run of the workload against `picker`: µs per pick and the picks made. */
function run (make, pieces, seed) {
  const random = seeded(seed)
  const picker = make(pieces, random)
  const peers = Array.from({ length: PEERS }, (_, p) => `peer${p}`)
  for (const [k, p] of peers.entries()) {
    if (k < 5) { picker.addPeer(p, 'all'); continue }
    const bf = new Bitfield(pieces)
    for (let i = 0; i < pieces; i++) if (random() < (k < 25 ? 0.6 : 0.05)) bf.set(i)
    picker.addPeer(p, bf)
  }
  const inFlight = new Set()
  const eligible = (i) => !inFlight.has(i)
  let picked = 0
  const t0 = performance.now()
  for (let n = 0; n < PICKS; n++) {
    const peer = peers[Math.floor(random() * peers.length)]
    const i = picker.pick(peer, eligible)
    if (i !== undefined) {
      picked++
      inFlight.add(i)
      if (inFlight.size > 32) {
        const done = inFlight.values().next().value
        inFlight.delete(done)
        picker.weHave(done)
      }
    }
    if (n % 10 === 0) picker.have(peers[5 + (n % 45)], Math.floor(random() * pieces))
  }
  return { usPerPick: (performance.now() - t0) * 1000 / PICKS, picked }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const rows = []
for (const pieces of SIZES) {
  const ours = []
  const scan = []
  let picked = 0
  for (let r = 0; r < RUNS; r++) {
    const a = run((n, random) => new PiecePicker({ pieces: n, streamingWindow: 8, random }), pieces, 1234 + r)
    const b = run((n) => new ScanPicker(n), pieces, 1234 + r)
    ours.push(a.usPerPick)
    scan.push(b.usPerPick)
    picked = a.picked
  }
  rows.push({ pieces, picks: PICKS, picked, 'PiecePicker µs/pick': +median(ours).toFixed(2), 'scan µs/pick': +median(scan).toFixed(2), 'scan / PiecePicker': +(median(scan) / median(ours)).toFixed(1) })
}
console.table(rows)
console.log(JSON.stringify({ bench: 'picker', runs: RUNS, rows }))
const worst = rows.find(r => r['PiecePicker µs/pick'] > 1000 || r.picked < Math.min(PICKS, r.pieces) * 0.9)
if (worst != null) {
  console.error(`target missed at ${worst.pieces} pieces: ${worst['PiecePicker µs/pick']} µs/pick, ${worst.picked} picks`)
  process.exitCode = 1
}
