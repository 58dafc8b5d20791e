/** {@link Choker.start} called while the choker is already running. */
export class ChokerRunningError extends Error {
  override readonly name = 'ChokerRunningError'
  constructor (message = 'choker already started; call stop() first', options?: { cause?: unknown }) { super(message, options) }
}
