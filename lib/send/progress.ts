// Send progress as callers see it: { bytes, total? } reported at most every PROGRESS_INTERVAL_MS
// and once more at the end, so a fast send never floods the callback. `total` is the estimate's
// byte count, known only once the estimate (a metadata-only send run alongside) has finished.

export interface SendProgress {
  /** Stream bytes delivered so far. */
  bytes: number
  /** Expected stream size (estimate()), once known. */
  total?: number
}

export type SendProgressCallback = (progress: SendProgress) => void

export const PROGRESS_INTERVAL_MS = 100

export class ProgressReporter {
  #callback: SendProgressCallback | undefined
  #last = 0
  total: number | undefined

  constructor(callback: SendProgressCallback | undefined) {
    this.#callback = callback
  }

  /** Reports `bytes` unless the last report was less than the interval ago. */
  report(bytes: number): void {
    if (!this.#callback) return
    const now = Date.now()
    if (now - this.#last < PROGRESS_INTERVAL_MS) return
    this.#last = now
    this.#callback(this.total === undefined ? { bytes } : { bytes, total: this.total })
  }

  /** The last report: the stream is complete, so its size is the total. */
  finish(bytes: number): void {
    this.total = bytes
    this.#callback?.({ bytes, total: bytes })
  }
}
