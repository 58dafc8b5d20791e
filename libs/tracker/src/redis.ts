import { Redis } from 'ioredis'

export interface TrackerRedisOptions {
  /** A command not answered within this long fails (→ StoreUnavailableError), ms. Default 1000. */
  commandTimeoutMs?: number
  /** Connecting gives up after this long and retries, ms. Default 2000. */
  connectTimeoutMs?: number
  /** Connection errors (refused, reset) as they happen; ioredis keeps reconnecting meanwhile. */
  onError?: (err: Error) => void
  /** Do not connect until `redis.connect()` (or the first command). Default false. */
  lazyConnect?: boolean
}

/**
 * An ioredis client set up to fail fast instead of queueing while Redis is away, so the tracker
 * answers Unavailable rather than hanging: `enableOfflineQueue: false` (a command sent while
 * disconnected fails at once), `maxRetriesPerRequest: 0`, a per-command timeout, and endless
 * reconnection with a backoff capped at 1 s. Returns without waiting for the connection; use
 * {@link redisReady} or a PING to know whether Redis answers.
 *
 * @param url `redis://[user:password@]host:port[/db]`
 */
export function createTrackerRedis (url: string, options: TrackerRedisOptions = {}): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? 1000,
    connectTimeout: options.connectTimeoutMs ?? 2000,
    retryStrategy: (times) => Math.min(50 * times, 1000),
    // on disconnect, wait this long for the socket to close before destroying it (default 2 s)
    disconnectTimeout: 500,
    lazyConnect: options.lazyConnect ?? false
  })
  // without a listener ioredis prints every failed reconnection attempt to the console
  redis.on('error', (err: Error) => options.onError?.(err))
  return redis
}

/**
 * Resolves true once `redis` is connected and ready, false if it is not within `timeoutMs`
 * (commands sent before then fail at once, since the offline queue is off).
 */
export async function redisReady (redis: Redis, timeoutMs = 5000): Promise<boolean> {
  if (redis.status === 'ready') return true
  return new Promise(resolve => {
    const done = (ok: boolean): void => {
      clearTimeout(timer)
      redis.off('ready', onReady)
      resolve(ok)
    }
    const onReady = (): void => done(true)
    const timer = setTimeout(() => done(false), timeoutMs)
    redis.on('ready', onReady)
  })
}
