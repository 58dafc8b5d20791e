/** @throws TypeError if `value` is not a number, RangeError if it is NaN, negative or infinite */
export function assertByteCount (value: unknown, what: string): asserts value is number {
  if (typeof value !== 'number') throw new TypeError(`${what} must be a number, got ${typeof value}`)
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${what} must be a finite number ≥ 0, got ${value}`)
}

/** @throws TypeError if `value` is not a number, RangeError unless it is finite and > 0 */
export function assertPositive (value: unknown, what: string): asserts value is number {
  if (typeof value !== 'number') throw new TypeError(`${what} must be a number, got ${typeof value}`)
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${what} must be a finite number > 0, got ${value}`)
}

/** A monotonic clock in ms: `performance.now()`. */
export const monotonicNow = (): number => performance.now()
