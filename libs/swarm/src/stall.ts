import type { BlockTable } from './blocks.js'
import type { DownloadPeers } from './peers.js'
import type { PiecePicker } from './picker.js'

export interface StallTimerInit {
  /** how long a chunk no known peer holds may wait after the last sign of progress (ms) */
  stallTimeoutMs: number
}

export interface StallTimerComponents {
  blocks: BlockTable
  peers: DownloadPeers
  picker: PiecePicker
  /** look again at what to request */
  schedule(): void
}

/**
 * How long a download waits for a chunk that no known peer can supply: while a peer still
 * downloading (a partial bitfield, a super-seed revealing) may announce it, or a provider that
 * left may come back, up to the stall timeout after the last sign of progress (a `have`, a new
 * peer, a chunk held). Then the chunk is repaired from FEC parity, or the download fails.
 */
export class StallTimer {
  /** the last sign of progress, performance.now() ms */
  private lastProgress = performance.now()
  private timer: NodeJS.Timeout | undefined

  constructor (private readonly components: StallTimerComponents, private readonly init: StallTimerInit) {}

  /** A sign of progress: a `have`, a new peer, a chunk held. */
  progressed (): void {
    this.lastProgress = performance.now()
  }

  /**
   * Whether a peer that may be asked for chunk `index` is still downloading (a partial
   * bitfield, or a super-seed revealing), or with `orComeBack` a provider that left and was not
   * banned may come back, and the stall timeout since the last progress has not run out: then
   * the chunk is waited for, not failed (and, but for a provider gone, not rebuilt from parity:
   * FEC repair does not wait for a peer that left).
   */
  mayBeAnnounced (index: number, orComeBack = false): boolean {
    const { blocks, peers, picker } = this.components
    if (index >= blocks.dataCount) return false
    if (performance.now() - this.lastProgress >= this.init.stallTimeoutMs) return false
    for (const key of peers.keys()) if (blocks.mayAsk(index, key) && picker.isPartial(key)) return true
    // a provider whose connection dropped may come back (it is redialled; a link that is down
    // for a few seconds must not fail the download at once): wait for it as well
    return orComeBack && peers.mayComeBack()
  }

  /**
   * Whether stranded chunk `index` may still be announced ({@link mayBeAnnounced}): then the
   * download waits, and looks again once the stall timeout since the last progress runs out.
   */
  awaitAnnouncement (index: number, orComeBack = false): boolean {
    if (!this.mayBeAnnounced(index, orComeBack)) return false
    this.arm()
    return true
  }

  /** Stop the timer. */
  stop (): void {
    clearTimeout(this.timer)
  }

  private arm (): void {
    if (this.timer != null) return
    const left = this.init.stallTimeoutMs - (performance.now() - this.lastProgress)
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.components.schedule()
    }, Math.max(1, Math.ceil(left)))
    this.timer.unref()
  }
}
