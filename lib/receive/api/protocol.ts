// Messages between receive() on the caller's thread and the receive worker. The caller copies
// input bytes into fresh ArrayBuffers and transfers them; the worker acknowledges each chunk
// once applied (backpressure). Abort is a shared flag (seen between commands, even while the
// worker never yields) plus a message to wake a worker waiting for input.
import type { ErrorRecord } from './error-transfer.js'
import type { EngineOptions, ProgressRecord } from '../engine/engine.js'
import type { ReceivedSubvolume } from '../fs/incoming.js'

export interface WorkerInit {
  dest: string
  /** The engine's options, as they are. */
  options: EngineOptions
  /** Int32Array over it: [0] = 1 once aborted. */
  abortFlag: SharedArrayBuffer
}

export type ToWorker = { t: 'chunk'; b: Uint8Array } | { t: 'end' } | { t: 'abort' }

export interface WarningRecord {
  code: string
  message: string
  error?: ErrorRecord
}

export type FromWorker =
  /** `b` hands the chunk's buffer back for reuse, so a long receive allocates no new ones. */
  | { t: 'ack'; n: number; b?: ArrayBuffer }
  | { t: 'progress'; p: ProgressRecord }
  | { t: 'warning'; w: WarningRecord }
  | { t: 'stop' }
  | { t: 'done'; subvolumes: ReceivedSubvolume[]; commands: number; bytes: number }
  | { t: 'error'; error: ErrorRecord }
