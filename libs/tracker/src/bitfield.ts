import { Bitfield } from '@codio/bitfield'

/**
 * The bitfield of a holding as the tracker reports it (`SelectedPeer`, `AvailabilityEntry`):
 * its own bits (BEP 3 layout, see @codio/bitfield), or every chunk when it is `complete` (whose
 * bitfield is sent empty).
 */
export function holdingBitfield (h: { complete: boolean, chunkCount: number, bitfield: Uint8Array }): Uint8Array {
  return h.complete ? Bitfield.full(h.chunkCount).toBytes() : h.bitfield
}
