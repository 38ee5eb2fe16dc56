// Send progress as callers see it: { bytes, total?, subvolume } reported at most every
// PROGRESS_INTERVAL_MS, at the start of each subvolume and once more at the end, so a fast send
// never floods the callback. `total` is the estimate's
// byte count, known only once the estimate (a metadata-only send run alongside) has finished.

export interface SendProgress {
  /** Stream bytes delivered so far. */
  bytes: number
  /** Expected stream size (estimate()), once known. */
  total?: number
  /** The subvolume being sent (its resolved path). */
  subvolume: string
}

export type SendProgressCallback = (progress: SendProgress) => void

export const PROGRESS_INTERVAL_MS = 100

export class ProgressReporter {
  #callback: SendProgressCallback | undefined
  #last = 0
  #subvolume = ''
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
    this.#emit(bytes)
  }

  /** A subvolume starts: always reported. */
  start(subvolume: string, bytes: number): void {
    this.#subvolume = subvolume
    this.#last = Date.now()
    this.#emit(bytes)
  }

  /** The last report: the stream is complete, so its size is the total. */
  finish(bytes: number): void {
    this.total = bytes
    this.#emit(bytes)
  }

  #emit(bytes: number): void {
    const p: SendProgress = { bytes, subvolume: this.#subvolume }
    if (this.total !== undefined) p.total = this.total
    this.#callback?.(p)
  }
}
