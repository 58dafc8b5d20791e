/**
 * Whether a process is ready yet. Called again until it resolves true; an exception counts as
 * "not yet". `output` is what the process wrote so far (piped output only, else '').
 */
export type ReadyCheck = (output: string) => boolean | Promise<boolean>

/**
 * Ready once `GET url` answers 2xx within 1 s: a Codio service's `/readyz` (its listeners are up
 * and its dependencies answered).
 */
export function httpReady (url: string): ReadyCheck {
  return async () => {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) })
    await res.body?.cancel()
    return res.ok
  }
}

/** Ready once the process's piped output contains `pattern` (a string) or matches it. */
export function outputReady (pattern: string | RegExp): ReadyCheck {
  return (output) => typeof pattern === 'string' ? output.includes(pattern) : pattern.test(output)
}
