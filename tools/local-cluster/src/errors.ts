/** The cluster cannot be started as asked: a service is not built, or the counts are not whole numbers of at least 1. */
export class ClusterStartError extends Error {
  override readonly name = 'ClusterStartError'
}

/**
 * A service process did not come up: it exited (or could not be spawned) before it was ready,
 * or it was not ready in time. The message ends with the last lines of its log or output;
 * `output` holds them alone.
 */
export class ServiceStartError extends Error {
  override readonly name = 'ServiceStartError'
  /** The process's name, e.g. `edge-1`. */
  readonly service: string
  /** The last lines the process wrote (its log file or its piped output). */
  readonly output: string

  constructor (service: string, message: string, output = '', options?: ErrorOptions) {
    super(output === '' ? message : `${message}\n${output}`, options)
    this.service = service
    this.output = output
  }
}
