import { join } from 'node:path'
import { startSidecar, type Sidecar, type SidecarOptions, type SidecarSpec } from './sidecar.js'

export interface NatsOptions extends SidecarOptions {
  /** Enable JetStream, storing under `<dir>/jetstream` (local binary only). Default false. */
  jetstream?: boolean
}

function natsSpec (options: NatsOptions): SidecarSpec {
  return {
    kind: 'nats',
    envVar: 'NATS_URL',
    scheme: 'nats',
    binary: 'nats-server',
    container: { image: 'nats:2.10-alpine', port: 4222, readyLog: /Server is ready/ },
    local: (_binary, dir) => ({
      name: 'nats-server',
      host: '127.0.0.1',
      args: (port) => ['-a', '127.0.0.1', '-p', String(port), ...(options.jetstream === true ? ['-js', '-sd', join(dir, 'jetstream')] : [])],
      // a NATS server greets every new connection with its INFO line
      expect: 'INFO '
    })
  }
}

/**
 * A NATS server for tests and the local cluster: `NATS_URL` if set, else a container
 * (`nats:2.10-alpine`) if a container runtime answers, else `nats-server -a 127.0.0.1 -p <free port>`
 * from PATH, /usr/sbin or /usr/bin.
 *
 * @returns a {@link Sidecar} whose `url` is `nats://host:port`
 * @throws SidecarUnavailableError naming `apt-get install -y nats-server redis-server` when none is found
 * @throws SidecarStartError when the server does not come up
 */
export async function startNats (options: NatsOptions = {}): Promise<Sidecar> {
  return startSidecar(natsSpec(options), options)
}
