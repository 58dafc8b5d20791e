import { describe, expect, it } from '@jest/globals'
import { InvalidRequestError } from '../src/errors.js'
import { holderScore, rankHolders, tieBreak, validateSelectRequest, type HolderState } from '../src/selection.js'
import { contentId, HOUR, peerId } from './helpers.js'

const holder = (over: Partial<HolderState>): HolderState => ({
  peerId: peerId(),
  multiaddrs: [],
  observedUptimeSeconds: HOUR,
  chunksFailed: 0,
  observedSuccesses: 100,
  observedFailures: 0,
  speedSamples: [],
  chunkCount: 10,
  haveCount: 10,
  load: 0,
  ...over
})

describe('rankHolders', () => {
  it('puts the highest reputation first', () => {
    const hs = [0, 90, 10, 50, 2].map(failed => holder({ chunksFailed: failed }))
    const best = rankHolders(hs, { count: 3 })
    expect(best.map(h => h.chunksFailed)).toEqual([0, 2, 10])
    expect(best[0].reputation).toBeGreaterThan(best[1].reputation)
  })

  it('leaves out excluded peers and the requester', () => {
    const hs = [holder({}), holder({}), holder({})]
    const out = rankHolders(hs, { count: 3, exclude: [hs[0].peerId], requesterPeerId: hs[1].peerId })
    expect(out.map(h => h.peerId)).toEqual([hs[2].peerId])
  })

  it('spreads load: peers handed out recently rank lower', () => {
    const busy = holder({ load: 16 })
    const idle = holder({ chunksFailed: 5 })
    expect(rankHolders([busy, idle], { count: 1 })[0].peerId).toBe(idle.peerId)
    expect(holderScore(0.9, 10, 10, 8)).toBeCloseTo(0.45)
  })

  it('ranks partial holders below complete ones of equal reputation, and new peers above zero', () => {
    expect(holderScore(0.9, 5, 10, 0)).toBeLessThan(holderScore(0.9, 10, 10, 0))
    expect(holderScore(0, 10, 10, 0)).toBeGreaterThan(0)
  })

  it('breaks ties the same way every time, differently per requester', () => {
    const hs = Array.from({ length: 20 }, () => holder({}))
    const a = rankHolders(hs, { count: 20, requesterPeerId: 'A1' }).map(h => h.peerId)
    expect(rankHolders([...hs].reverse(), { count: 20, requesterPeerId: 'A1' }).map(h => h.peerId)).toEqual(a)
    expect(rankHolders(hs, { count: 20, requesterPeerId: 'B2' }).map(h => h.peerId)).not.toEqual(a)
    expect(tieBreak('a', 'b')).toBe(tieBreak('a', 'b'))
  })
})

describe('validateSelectRequest', () => {
  it('refuses an empty content ID, a count outside 1..100 and malformed peer IDs', () => {
    const cid = contentId()
    expect(() => validateSelectRequest({ contentId: '', count: 1 })).toThrow(InvalidRequestError)
    expect(() => validateSelectRequest({ contentId: 'a b', count: 1 })).toThrow(InvalidRequestError)
    expect(() => validateSelectRequest({ contentId: cid, count: 0 })).toThrow(/count/)
    expect(() => validateSelectRequest({ contentId: cid, count: 101 })).toThrow(/count/)
    expect(() => validateSelectRequest({ contentId: cid, count: 1.5 })).toThrow(/count/)
    expect(() => validateSelectRequest({ contentId: cid, count: 1, exclude: ['x y'] })).toThrow(/excluded/)
    expect(() => validateSelectRequest({ contentId: cid, count: 1, requesterPeerId: '/p2p/x' })).toThrow(/requester/)
    expect(validateSelectRequest({ contentId: cid, count: 100 })).toEqual({ contentId: cid, count: 100, exclude: [], requesterPeerId: '' })
  })
})
