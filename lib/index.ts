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

// stream decoding, dump and encoding (lib/stream/, lib/dump/)

// receive (lib/receive/)
