// Public entry: re-exports only, no logic. Grouped by concern; each group's module owns it.

// errors
export {
  ERROR_CODES,
  BtrfsError,
  BtrfsSystemError,
  InvalidArgumentError,
  StreamFormatError,
  AbortError,
} from './errors.js'
export type { ErrorCode } from './errors.js'

// send and subvolumes (lib/send/, lib/subvolume/)
export { send, sendToFd, SendStream, kernelSendProtocol } from './send/index.js'
export type { SendOptions, SubvolumeRef, SendTarget } from './send/index.js'
export * as subvolume from './subvolume/index.js'
export type { SubvolumeInfo, SubvolumeEntry, SnapshotOptions, SetReadOnlyOptions } from './subvolume/index.js'
export { formatUuid, parseUuid } from './uuid.js'
export { nativePath } from './native.js'

// stream decoding, dump and encoding (lib/stream/, lib/dump/)

// receive (lib/receive/)
