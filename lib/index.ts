// Public entry: re-exports only, no logic. Grouped by concern; each group's module owns it.

// errors
export {
  ERROR_CODES,
  WARNING_CODES,
  BtrfsError,
  BtrfsSystemError,
  InvalidArgumentError,
  StreamFormatError,
  AbortError,
} from './errors.js'
export type { ErrorCode, BtrfsCode, ErrnoCode, WarningCode } from './errors.js'

// send and subvolumes (lib/send/, lib/subvolume/)
export { send, sendToFd, SendStream, kernelSendProtocol, estimate } from './send/index.js'
export type { SendOptions, SubvolumeRef, SendTarget, SendEstimate, EstimateOptions, SendProgress, SendProgressCallback } from './send/index.js'
export * as subvolume from './subvolume/index.js'
export type { SubvolumeInfo, SubvolumeEntry, SnapshotOptions, SetReadOnlyOptions } from './subvolume/index.js'
export { formatUuid, parseUuid } from './uuid.js'
export { nativePath } from './native.js'

// stream decoding, dump and encoding (lib/stream/, lib/dump/); the addon's CRC32C when it loads
import './stream/crc32c-native.js'
export { StreamDecoder, decodeAll } from './stream/decoder.js'
export type { DecoderOptions, StreamWarning, StreamWarningCode } from './stream/decoder.js'
export { parse, createParser } from './stream/parser.js'
export type { ParseOptions, ByteSource, CommandIterator } from './stream/parser.js'
export { StreamEncoder } from './stream/encoder.js'
export type { EncoderOptions, RawAttribute, RawCommandOptions } from './stream/encoder.js'
export { COMMANDS, ATTRIBUTES } from './stream/commands.js'
export type {
  Command,
  CommandData,
  CommandOf,
  CommandOrigin,
  CommandSchema,
  CommandType,
  KnownCommand,
  Timespec,
  SubvolCommand,
  SnapshotCommand,
  MkfileCommand,
  MkdirCommand,
  MknodCommand,
  MkfifoCommand,
  MksockCommand,
  SymlinkCommand,
  RenameCommand,
  LinkCommand,
  UnlinkCommand,
  RmdirCommand,
  SetXattrCommand,
  RemoveXattrCommand,
  WriteCommand,
  CloneCommand,
  TruncateCommand,
  ChmodCommand,
  ChownCommand,
  UtimesCommand,
  EndCommand,
  UpdateExtentCommand,
  FallocateCommand,
  FileattrCommand,
  EncodedWriteCommand,
  EnableVerityCommand,
  UnknownCommand,
} from './stream/commands.js'
export { CMD, ATTR, DEFAULT_MAX_COMMAND_LENGTH } from './stream/constants.js'
export type { StreamVersion } from './stream/constants.js'
export { crc32c, crc32cUpdate } from './stream/crc32c.js'
export { decodePath, isUtf8Path, toDate, toNanoseconds } from './stream/values.js'
export { dump, toJson } from './dump/dump.js'
export type { DumpOptions } from './dump/dump.js'
export { formatCommand, createDumpContext, formatTime } from './dump/format.js'
export type { DumpContext } from './dump/format.js'

// receive (lib/receive/)
export { receive, createReceiveStream, ReceiveError, RECEIVE_TEMP_PREFIX } from './receive/index.js'
export type { ReceiveStream, ReceiveOptions, ReceiveResult, ReceiveProgress, ReceiveWarning, ReceivedSubvolume } from './receive/index.js'

// list and diff of streams, no btrfs needed (lib/inspect/)
export { list } from './inspect/list.js'
export type { ListEntry, ListOptions } from './inspect/list.js'
export { diff } from './inspect/diff.js'
export type { DiffEntry, DiffOp, DiffOptions } from './inspect/diff.js'
export type { EntryType, Change } from './inspect/model.js'
