/**
 * The verified chunks a download holds in memory for its reader, so that a response streams
 * the bytes it has just verified instead of reading them back from the store: chunk `i` is
 * kept when it is done while `cursor <= i < cursor + window`, where `cursor` is the next chunk
 * the reader will take. The reader {@link take}s each chunk once; a chunk done outside the
 * window (or taken by another reader first) is not kept, and the reader reads the store. At
 * most `window` chunks are held, so a download costs at most `window × chunk size` bytes here.
 */
export class ReadAhead {
  private readonly held = new Map<number, Uint8Array>()
  private cursor: number

  /**
   * @param window - chunks kept ahead of the reader (0 keeps none)
   * @param first - the first chunk the reader will take
   */
  constructor (private readonly window: number, first: number) {
    if (!Number.isInteger(window) || window < 0) throw new RangeError(`readAhead must be an integer ≥ 0, got ${window}`)
    this.cursor = first
  }

  /** Chunk `index` is verified and stored: keep `bytes` if the reader will want them soon. */
  done (index: number, bytes: Uint8Array): void {
    // what is held lies in cursor..cursor + window − 1 (take() drops what the reader passed)
    if (index >= this.cursor && index < this.cursor + this.window) this.held.set(index, bytes)
  }

  /**
   * The bytes of chunk `index` if held (they are released), else undefined; the reader's
   * position moves to `index + 1` and chunks it has passed are released.
   */
  take (index: number): Uint8Array | undefined {
    const bytes = this.held.get(index)
    this.held.delete(index)
    if (index + 1 > this.cursor) {
      this.cursor = index + 1
      for (const i of this.held.keys()) if (i < this.cursor) this.held.delete(i)
    }
    return bytes
  }

  /** Chunks held now. */
  get size (): number {
    return this.held.size
  }
}
