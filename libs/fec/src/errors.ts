/** FEC parameters out of range: k or m not a positive integer, or k + m above 256. */
export class InvalidFecParamsError extends Error {
  override name = 'InvalidFecParamsError'
  constructor (message: string, options?: { cause?: unknown }) { super(message, options) }
}

/**
 * A group could not be rebuilt: fewer than k shards in hand, a shard of the wrong length, or a
 * rebuilt chunk that does not hash to its CID (parity that does not belong to the data).
 */
export class FecRebuildError extends Error {
  override name = 'FecRebuildError'
  constructor (message: string, options?: { cause?: unknown }) { super(message, options) }
}
