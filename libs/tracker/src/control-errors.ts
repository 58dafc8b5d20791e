/**
 * UpdateClusterConfig with an `expected_version` the document is no longer at (another update
 * came first). Connect: Aborted. Read the document again and retry.
 */
export class VersionConflictError extends Error {
  override name = 'VersionConflictError'
  /** The document's version now. */
  readonly currentVersion: number

  constructor (message: string, currentVersion: number) {
    super(message)
    this.currentVersion = currentVersion
  }
}

/** GetJob / ReportJobProgress of a job the tracker has no record of (never made, or expired). Connect: NotFound. */
export class JobNotFoundError extends Error {
  override name = 'JobNotFoundError'
}

/** A public key that is not base64url of 32 bytes (an Ed25519 public key). Connect: InvalidArgument. */
export class InvalidPublicKeyError extends Error {
  override name = 'InvalidPublicKeyError'
}

/** The Watch stream broke (tracker away, stream idle past its deadline) — the watcher reconnects. */
export class WatchInterruptedError extends Error {
  override name = 'WatchInterruptedError'
}
