/** Which backing server a sidecar is. */
export type SidecarKind = 'nats' | 'redis'

/** The Debian package that provides each server's binary. */
export const DEBIAN_PACKAGES: Record<SidecarKind, string> = { nats: 'nats-server', redis: 'redis-server' }

/**
 * No server could be found: no `NATS_URL`/`REDIS_URL`, no container runtime (or containers
 * disabled), and no binary on PATH or in the searched directories. The message names the
 * Debian package to install; `installCommand` holds the command.
 */
export class SidecarUnavailableError extends Error {
  override name = 'SidecarUnavailableError'
  readonly kind: SidecarKind
  readonly installCommand: string

  constructor (kind: SidecarKind, binary: string, searched: string[], options?: { cause?: unknown }) {
    const installCommand = 'apt-get install -y nats-server redis-server'
    super(`${kind}: no ${binary} binary found (searched ${searched.join(', ') || 'nothing'}) and no container runtime answered; ` +
      `set ${kind === 'nats' ? 'NATS_URL' : 'REDIS_URL'} or install the Debian package ${DEBIAN_PACKAGES[kind]}: ${installCommand}`, options)
    this.kind = kind
    this.installCommand = installCommand
  }
}

/** A server was found but did not come up: it exited early or did not accept connections in time. */
export class SidecarStartError extends Error {
  override name = 'SidecarStartError'
  /** The last lines the server wrote to stdout/stderr, if it is a local process. */
  readonly output: string

  constructor (message: string, output = '', options?: { cause?: unknown }) {
    super(output === '' ? message : `${message}\n${output}`, options)
    this.output = output
  }
}

/** `restart()` on a server this process does not own (given by `NATS_URL`/`REDIS_URL`). */
export class SidecarRestartError extends Error {
  override name = 'SidecarRestartError'
}
