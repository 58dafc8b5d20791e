/** A server in a container this process started (testcontainers). */
export interface ContainerServer {
  /** Host and mapped port as the host sees them; they may change on restart. */
  host(): string
  port(): number
  restart(): Promise<void>
  stop(): Promise<void>
}

export interface ContainerSpec {
  image: string
  /** Port inside the container. */
  port: number
  /** A log line that means the server is ready. */
  readyLog: RegExp
}

let runtime: Promise<boolean> | undefined

/**
 * Whether a container runtime (Docker or compatible) answers. testcontainers is imported
 * lazily here so that a process which never needs a container does not load it, and it is a
 * dev dependency of the repository only (the container images leave it out, ~20 MB): where it
 * is not installed the answer is no. With no runtime `getContainerRuntimeClient()` fails
 * within milliseconds. The answer is cached.
 */
export async function containerRuntimeAvailable (): Promise<boolean> {
  runtime ??= (async () => {
    try {
      const { getContainerRuntimeClient } = await import('testcontainers')
      await getContainerRuntimeClient()
      return true
    } catch {
      return false
    }
  })()
  return runtime
}

/** Start `spec.image` with `spec.port` published on a random host port; resolves once `readyLog` appears. */
export async function startContainer (spec: ContainerSpec): Promise<ContainerServer> {
  const { GenericContainer, Wait } = await import('testcontainers')
  const container = await new GenericContainer(spec.image)
    .withExposedPorts(spec.port)
    .withWaitStrategy(Wait.forLogMessage(spec.readyLog))
    .start()
  return {
    host: () => container.getHost(),
    port: () => container.getMappedPort(spec.port),
    restart: async () => { await container.restart() },
    stop: async () => { await container.stop() }
  }
}
