import { startSidecar, type Sidecar, type SidecarOptions } from './sidecar.js'

/**
 * A Redis server for tests and the local cluster: `REDIS_URL` if set, else a container
 * (`redis:7-alpine`) if a container runtime answers, else
 * `redis-server --bind 127.0.0.1 --port <free port> --save "" --appendonly no --dir <dir>`
 * (no persistence) from PATH, /usr/sbin or /usr/bin.
 *
 * @returns a {@link Sidecar} whose `url` is `redis://host:port`
 * @throws SidecarUnavailableError naming `apt-get install -y nats-server redis-server` when none is found
 * @throws SidecarStartError when the server does not come up
 */
export async function startRedis (options: SidecarOptions = {}): Promise<Sidecar> {
  return startSidecar({
    kind: 'redis',
    envVar: 'REDIS_URL',
    scheme: 'redis',
    binary: 'redis-server',
    container: { image: 'redis:7-alpine', port: 6379, readyLog: /Ready to accept connections/ },
    local: (_binary, dir) => ({
      name: 'redis-server',
      host: '127.0.0.1',
      args: (port) => ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir],
      hello: 'PING\r\n',
      expect: '+PONG'
    })
  }, options)
}
