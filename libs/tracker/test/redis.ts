import { afterAll, beforeAll, expect } from '@jest/globals'
import type { Redis } from 'ioredis'
import { startRedis, type Sidecar } from '@codio/sidecars'
import { createTrackerRedis, redisReady } from '../src/redis.js'

/**
 * A real Redis for the calling test file: registers a beforeAll that starts the sidecar and
 * connects a tracker client to it (checked ready), and an afterAll that disconnects and stops
 * it. Read `client` inside hooks and tests, not at the top level.
 */
export function useRedis (): { readonly client: Redis } {
  let server: Sidecar | undefined
  let client: Redis | undefined
  beforeAll(async () => {
    server = await startRedis()
    client = createTrackerRedis(server.url)
    expect(await redisReady(client)).toBe(true)
  })
  afterAll(async () => {
    client?.disconnect()
    await server?.stop()
  })
  return {
    get client (): Redis {
      if (client == null) throw new Error('useRedis: the client exists once beforeAll has run')
      return client
    }
  }
}
