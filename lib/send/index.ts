// send(): the public entry of the send side. Validates synchronously (bad arguments throw at the
// call), then returns a SendStream that opens, checks and streams asynchronously: errors found
// there (not read-only, not btrfs, ...) arrive as the stream's 'error'.
import { normalizeSendOptions, type SendOptions } from './options.js'
import { SendStream } from './send-stream.js'

export function send(subvolumes: string | string[], options: SendOptions = {}): SendStream {
  return new SendStream(normalizeSendOptions(subvolumes, options))
}

export { SendStream } from './send-stream.js'
export { sendToFd, type SendTarget } from './send-to-fd.js'
export { kernelSendProtocol } from './protocol.js'
export { estimate, type SendEstimate, type EstimateOptions } from './estimate.js'
export type { SendOptions, SubvolumeRef } from './options.js'
export type { SendProgress, SendProgressCallback } from './progress.js'
