import { describe, expect, it } from '@jest/globals'
import { addSpeedSample, downloadSpeed, isOnline, reliability, reputation, uploadSuccessRatio, uptimeFactor } from '../src/scoring.js'
import { DEFAULT_PEER_TIMEOUT_MS } from '../src/constants.js'

const rep0 = { observedUptimeSeconds: 0, chunksFailed: 0, observedSuccesses: 0, observedFailures: 0 }

describe('reputation', () => {
  it('is above 0.8 (reliable) for 100 chunks others received, 10 they saw fail, and 1 h seen by the tracker', () => {
    const rep = reputation({ ...rep0, observedUptimeSeconds: 3600, observedSuccesses: 100, observedFailures: 10 })
    expect(rep).toBeCloseTo(0.902 * 0.983, 2)
    expect(rep).toBeLessThan(1)
    expect(reliability(rep)).toBe('reliable')
  })

  it('gives a newcomer without observations the neutral prior, below a peer others observed serving well', () => {
    const newcomer = reputation(rep0)
    expect(newcomer).toBeCloseTo(1 / 3, 6)
    expect(reliability(newcomer)).toBe('neutral')
    const observed = reputation({ ...rep0, observedSuccesses: 100 })
    expect(observed).toBeGreaterThan(newcomer)
    expect(reputation({ ...rep0, observedSuccesses: 100, observedUptimeSeconds: 3600 })).toBeGreaterThan(0.95)
  })

  it('ignores what a peer claims about itself: 10^12 chunks served and 10^9 s uptime rank as a newcomer', () => {
    const claims = { uptimeSeconds: 1e9, chunksServed: 1e12 }
    const liar = reputation({ ...rep0, ...claims } as typeof rep0)
    expect(liar).toBe(reputation(rep0))
    expect(liar).toBeLessThan(reputation({ ...rep0, observedSuccesses: 5 }))
    // but a peer owning up to failures is believed, as far as one observer would be
    expect(reputation({ ...rep0, chunksFailed: 90, observedUptimeSeconds: 3600 })).toBeLessThan(0.3)
    expect(reliability(reputation({ ...rep0, chunksFailed: 1e15, observedSuccesses: 1000, observedUptimeSeconds: 3600 }))).toBe('reliable')
  })

  it('gives 1 h of uptime a factor of at least 0.95, and a peer that just started 0', () => {
    expect(uptimeFactor(3600)).toBeGreaterThanOrEqual(0.95)
    expect(uptimeFactor(0)).toBe(0)
    expect(uptimeFactor(-5)).toBe(0)
    expect(uptimeFactor(600)).toBeLessThan(uptimeFactor(1800))
    expect(uptimeFactor(1e9)).toBeLessThanOrEqual(1)
  })

  it('starts a peer with no evidence at the neutral prior 0.5 and converges to served / (served + failed)', () => {
    expect(uploadSuccessRatio(0, 0)).toBe(0.5)
    expect(uploadSuccessRatio(100_000, 0)).toBeGreaterThan(0.9999)
    expect(uploadSuccessRatio(900_000, 100_000)).toBeCloseTo(0.9, 4)
    expect(uploadSuccessRatio(0, 1000)).toBeLessThan(0.001)
  })

  it('counts failures others observed even when the peer does not report them', () => {
    const honest = reputation({ ...rep0, observedUptimeSeconds: 3600, observedSuccesses: 100 })
    const hiding = reputation({ ...rep0, observedUptimeSeconds: 3600, observedSuccesses: 20, observedFailures: 80 })
    expect(hiding).toBeLessThan(honest)
    expect(reliability(hiding)).not.toBe('reliable')
  })

  it('classifies reliable above 0.8 and unreliable below 0.3', () => {
    expect(reliability(0.81)).toBe('reliable')
    expect(reliability(0.8)).toBe('neutral')
    expect(reliability(0.3)).toBe('neutral')
    expect(reliability(0.29)).toBe('unreliable')
    const flaky = reputation({ ...rep0, observedUptimeSeconds: 3600, observedSuccesses: 10, observedFailures: 90 })
    expect(reliability(flaky)).toBe('unreliable')
  })
})

describe('download speed', () => {
  it('is the mean of the last 10 measurements', () => {
    let samples: number[] = []
    for (let i = 1; i <= 15; i++) samples = addSpeedSample(samples, i * 1000)
    expect(samples).toHaveLength(10)
    expect(downloadSpeed(samples)).toBe((6 + 15) / 2 * 1000)
    expect(downloadSpeed([])).toBe(0)
    expect(downloadSpeed([100, 200, 300])).toBe(200)
  })
})

describe('online', () => {
  it('is offline once not heard from for longer than the peer timeout (5 min by default)', () => {
    const seen = 1_700_000_000_000
    expect(DEFAULT_PEER_TIMEOUT_MS).toBe(300_000)
    expect(isOnline(seen, seen + 299_999, DEFAULT_PEER_TIMEOUT_MS)).toBe(true)
    expect(isOnline(seen, seen + 300_000, DEFAULT_PEER_TIMEOUT_MS)).toBe(true)
    expect(isOnline(seen, seen + 300_001, DEFAULT_PEER_TIMEOUT_MS)).toBe(false)
    expect(isOnline(0, seen, DEFAULT_PEER_TIMEOUT_MS)).toBe(false)
  })
})
