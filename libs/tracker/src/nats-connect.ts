import { connect, Events, type ConnectionOptions, type NatsConnection } from 'nats'

export interface NatsKeeperInit {
  /** Server URL(s), e.g. `nats://127.0.0.1:4222`. */
  servers: string | string[]
  /** Connection name shown by the server. */
  name?: string
  /** Wait between attempts while the first connection fails, ms. Default 1000. */
  retryMs?: number
  /** Called once, with the connection, when it is first established. */
  onConnect?(nc: NatsConnection): void
  /** Connection state changes after that (true = connected again, false = lost). */
  onStatus?(connected: boolean): void
  /** Why the first connection failed, each attempt. */
  onRetry?(err: Error): void
  /** Extra nats.js options. */
  options?: Partial<ConnectionOptions>
}

/** A NATS connection that is established in the background and kept for good. */
export interface NatsKeeper {
  /** The connection once established (it may be reconnecting), else undefined. */
  readonly connection: NatsConnection | undefined
  /** Whether the connection is up now (false while reconnecting). */
  readonly connected: boolean
  /** Resolves true once connected, false if not within `timeoutMs` (it keeps trying afterwards). */
  waitConnected(timeoutMs: number): Promise<boolean>
  /** Drain (bounded to 2 s when the server is away) and close; stop trying to connect. Never throws. */
  close(): Promise<void>
}

/**
 * Connect to NATS without ever failing the caller: the first connection is retried every
 * `retryMs` until it succeeds (or `close()`), and after that nats.js reconnects forever
 * (`maxReconnectAttempts: -1`), buffering publications while the server is away. Our own loop
 * for the first connection, rather than nats.js `waitOnFirstConnect`, so that `close()` can
 * stop it.
 */
export function keepNatsConnection (init: NatsKeeperInit): NatsKeeper {
  let nc: NatsConnection | undefined
  let up = false
  let closed = false
  let timer: NodeJS.Timeout | undefined

  const attempt = (): void => {
    connect({ servers: init.servers, name: init.name, maxReconnectAttempts: -1, reconnectTimeWait: 500, ...init.options }).then(async (c) => {
      if (closed) {
        await c.close()
        return
      }
      nc = c
      up = true
      init.onConnect?.(c)
      for await (const s of c.status()) {
        if (s.type === Events.Disconnect) { up = false; init.onStatus?.(false) }
        if (s.type === Events.Reconnect) { up = true; init.onStatus?.(true) }
      }
    }, (err: Error) => {
      if (closed) return
      init.onRetry?.(err)
      timer = setTimeout(attempt, init.retryMs ?? 1000)
      timer.unref()
    })
  }
  attempt()
  const isUp = (): boolean => up && nc !== undefined && !nc.isClosed()

  return {
    get connection () { return nc },
    get connected () { return isUp() },
    async waitConnected (timeoutMs) {
      const end = Date.now() + timeoutMs
      while (!isUp() && !closed && Date.now() < end) await new Promise(resolve => setTimeout(resolve, 10))
      return isUp()
    },
    async close () {
      if (closed) return
      closed = true
      clearTimeout(timer)
      const c = nc
      if (c === undefined || c.isClosed()) return
      await Promise.race([c.drain().catch(() => {}), new Promise(resolve => setTimeout(resolve, 2000).unref())])
      await c.close().catch(() => {})
    }
  }
}
