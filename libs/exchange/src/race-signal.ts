/**
 * `promise`, or the signal's reason if it aborts first. Not the `race-signal` package: that
 * one rejects with a fresh AbortError built on every call (per chunk here, and measurable in
 * profiles) instead of the caller's reason (a timeout, an endgame cancel).
 */
export async function raceSignal<T> (promise: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted()
  let onAbort: (() => void) | undefined
  try {
    return await Promise.race([promise, new Promise<never>((_resolve, reject) => {
      onAbort = () => { reject(signal.reason) }
      signal.addEventListener('abort', onAbort, { once: true })
    })])
  } finally {
    signal.removeEventListener('abort', onAbort!)
  }
}
