/** No reachable peer could supply a chunk (every provider refused, failed or is gone). */
export class ChunkUnavailableError extends Error {
  override readonly name = 'ChunkUnavailableError'
}

/** The download was aborted by its caller. */
export class DownloadAbortedError extends Error {
  override readonly name = 'DownloadAbortedError'
}
