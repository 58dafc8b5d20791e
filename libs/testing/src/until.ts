/** A condition that did not hold in time; its message names what was awaited. */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError'
}

/**
 * Resolves once `check` returns (or resolves to) true, polling every `everyMs` milliseconds;
 * `check` may throw to fail the wait at once (e.g. a process that exited).
 *
 * @param check the condition, sync or async
 * @param ms how long to wait at most (milliseconds)
 * @param what what is awaited, for the error message ("the edge to be ready")
 * @param everyMs polling interval (milliseconds, default 50)
 * @throws TimeoutError "timed out after <ms> ms waiting for <what>" when `ms` passes first;
 *   whatever `check` throws
 */
export async function until (check: () => boolean | Promise<boolean>, ms: number, what: string, everyMs = 50): Promise<void> {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new TimeoutError(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, everyMs))
  }
}
