#!/usr/bin/env node
/**
 * Noise transport-message cipher benchmark: Codio's `noiseCrypto` (libs/p2p) against
 * libp2p-noise's own `defaultCrypto`, side by side in one run. Each round seals and opens
 * BENCH_NOISE_MIB of data as full-size Noise messages (65,519 plaintext bytes, the most one
 * transport message carries) with each implementation in turn; rounds alternate so that a
 * noisy neighbour hits both alike. Figures are medians over the rounds.
 *
 *   npm run bench:noise        (BENCH_NOISE_MIB=256, BENCH_NOISE_ROUNDS=7)
 *
 * Prints a table, then one JSON line of the figures.
 */
import { randomBytes } from 'node:crypto'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { noiseCrypto } from '@codio/p2p'

const MiB = 1024 * 1024
const MSG = 65_519
const TOTAL = Number(process.env.BENCH_NOISE_MIB ?? 256) * MiB
const ROUNDS = Number(process.env.BENCH_NOISE_ROUNDS ?? 7)
const median = a => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]

const key = randomBytes(32)
const ad = new Uint8Array(0)
const nonce = new Uint8Array(12)
const plaintext = randomBytes(MSG)
const messages = Math.ceil(TOTAL / MSG)

function round (impl) {
  let sealMs = 0
  let openMs = 0
  for (let i = 0; i < messages; i++) {
    new DataView(nonce.buffer).setUint32(4, i, true)
    const t0 = performance.now()
    const sealed = impl.chaCha20Poly1305Encrypt(plaintext, nonce, ad, key)
    sealMs += performance.now() - t0
    // the receiver gets each message as one buffer off the wire: joined outside the timing
    const received = sealed instanceof Uint8Array ? sealed : sealed.subarray()
    const t1 = performance.now()
    impl.chaCha20Poly1305Decrypt(received, nonce, ad, key)
    openMs += performance.now() - t1
  }
  return { sealMs, openMs }
}

const impls = { 'libp2p-noise defaultCrypto': defaultCrypto, 'codio noiseCrypto': noiseCrypto }
const results = Object.fromEntries(Object.keys(impls).map(k => [k, { seal: [], open: [] }]))
round(noiseCrypto); round(defaultCrypto) // warm-up
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, impl] of Object.entries(impls)) {
    const { sealMs, openMs } = round(impl)
    results[name].seal.push(messages * MSG / MiB / (sealMs / 1000))
    results[name].open.push(messages * MSG / MiB / (openMs / 1000))
  }
}
const rows = Object.entries(results).map(([name, r]) => ({ impl: name, sealMiBps: Math.round(median(r.seal)), openMiBps: Math.round(median(r.open)) }))
const base = rows[0]
console.log(`Noise ChaCha20-Poly1305, ${messages} messages of ${MSG} bytes per round, median of ${ROUNDS} rounds (this machine)`)
console.log('  implementation                 seal MiB/s   open MiB/s   seal ×   open ×')
for (const r of rows) {
  console.log(`  ${r.impl.padEnd(30)} ${String(r.sealMiBps).padStart(10)} ${String(r.openMiBps).padStart(12)} ${(r.sealMiBps / base.sealMiBps).toFixed(2).padStart(8)} ${(r.openMiBps / base.openMiBps).toFixed(2).padStart(8)}`)
}
console.log(JSON.stringify({ bench: 'noise', messageBytes: MSG, messages, rounds: ROUNDS, rows: rows.map(r => ({ ...r, sealRatio: +(r.sealMiBps / base.sealMiBps).toFixed(2), openRatio: +(r.openMiBps / base.openMiBps).toFixed(2) })) }))
