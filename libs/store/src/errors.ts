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
