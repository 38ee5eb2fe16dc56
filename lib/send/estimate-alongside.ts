// Runs estimate() next to a real send, for progress totals: the kernel allows concurrent sends
// of the same read-only subvolumes. The estimate is advisory, so its failure (or the send
// finishing first) only means progress reports go without a total.
import type { NormalizedSendOptions } from './options.js'

/** Starts the estimate; `onTotal` gets its byte count. Returns a function that stops it. */
export function startEstimate(options: NormalizedSendOptions, onTotal: (total: number) => void): () => void {
  const controller = new AbortController()
  // Loaded here: estimate.ts needs SendStream, which loads this module.
  const { estimateNormalized } = require('./estimate.js') as typeof import('./estimate.js')
  estimateNormalized({ ...options, signal: controller.signal, onProgress: undefined, estimate: false }).then(
    (e) => {
      if (!controller.signal.aborted) onTotal(e.bytes)
    },
    () => undefined,
  )
  return () => controller.abort()
}
