import { afterAll, afterEach, beforeAll } from '@jest/globals'
import { startNats, startRedis, type Sidecar } from '@codio/sidecars'

export interface TestSidecars {
  /** A local nats-server of this test file's own (not NATS_URL, not a container whose port may move: a test may restart it). */
  readonly nats: Sidecar
  readonly redis: Sidecar
  /** Stop `x` after the current test (what was registered last stops first); returns `x`. */
  later: <T extends { stop: () => Promise<void> }>(x: T) => T
  /** Run `fn` after the current test, in the same order as {@link later}. */
  defer: (fn: () => Promise<unknown>) => void
}

/**
 * For the calling test file: registers a beforeAll that starts NATS and Redis, an afterEach
 * that runs what tests deferred, and an afterAll that stops both. Read `nats` and `redis`
 * inside hooks and tests, not at the top level.
 */
export function useSidecars (): TestSidecars {
  let nats: Sidecar | undefined
  let redis: Sidecar | undefined
  const cleanup: Array<() => Promise<unknown>> = []
  beforeAll(async () => {
    ;[nats, redis] = await Promise.all([startNats({ env: { PATH: process.env.PATH }, containers: false }), startRedis()])
  })
  afterEach(async () => {
    for (const stop of cleanup.splice(0).reverse()) await stop()
  })
  afterAll(async () => {
    await Promise.all([nats?.stop(), redis?.stop()])
  })
  const started = (s: Sidecar | undefined): Sidecar => {
    if (s == null) throw new Error('useSidecars: the sidecars exist once beforeAll has run')
    return s
  }
  return {
    get nats () { return started(nats) },
    get redis () { return started(redis) },
    later: (x) => { cleanup.push(async () => await x.stop()); return x },
    defer: (fn) => { cleanup.push(fn) }
  }
}
