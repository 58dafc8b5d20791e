/**
 * Serialises async operations per key (here: per block), so a put, a delete and a commit of
 * the same CID never interleave and the block/byte counters stay exact.
 */
export class KeyLock {
  readonly #tails = new Map<string, Promise<unknown>>()

  async run<T> (key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key) ?? Promise.resolve()
    const result = prev.then(fn, fn)
    const tail = result.then(() => {}, () => {})
    this.#tails.set(key, tail)
    try {
      return await result
    } finally {
      if (this.#tails.get(key) === tail) this.#tails.delete(key)
    }
  }

  /** Resolves when every operation started so far has settled. */
  async idle (): Promise<void> {
    while (this.#tails.size > 0) await Promise.all(this.#tails.values())
  }
}
