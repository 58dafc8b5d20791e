/** A store directory cannot be created, read or written. `cause` holds the I/O error. */
export class StoreIOError extends Error {
  override name = 'StoreIOError'
  constructor (message: string, options?: { cause?: unknown }) { super(message, options) }
}

/** A staging area was used after `commit()` or `abort()`. */
export class StagingClosedError extends Error {
  override name = 'StagingClosedError'
  constructor (message: string, options?: { cause?: unknown }) { super(message, options) }
}

/** The block store was used after `close()`. */
export class StoreClosedError extends Error {
  override name = 'StoreClosedError'
  constructor (message = 'block store is closed', options?: { cause?: unknown }) { super(message, options) }
}

/**
 * A CID the store cannot name: its file name (the CIDv1 base32 string) would be longer than
 * {@link MAX_KEY_LENGTH} characters (a multihash with an oversized digest). An invalid
 * argument, not an I/O failure: no file is touched.
 */
export class InvalidBlockIdError extends Error {
  override name = 'InvalidBlockIdError'
  constructor (message: string, options?: { cause?: unknown }) { super(message, options) }
}
