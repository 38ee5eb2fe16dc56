// The one registry of error and warning codes and the error classes built on it. A code never
// changes meaning once published (Node's rule); the README lists every code in ERROR_CODES and
// WARNING_CODES. System errors are shaped like Node's fs errors (code = errno name, negative
// errno, syscall, path) so existing `err.code === 'ENOENT'` handling keeps working; their names
// and numbers come from os.constants.errno. Every error the public API raises is a BtrfsError
// whose code is in the registry: a BTRFS_* code, an errno name, or ABORT_ERR.
import { constants } from 'node:os'

/** Every BTRFS_* code this package raises, with what it means. */
export const ERROR_CODES = {
  BTRFS_INVALID_ARGUMENT: 'an argument or option has the wrong type or value',
  BTRFS_INVALID_CALL: 'a method was called in a state that cannot take it (e.g. write() before the last chunk was drained)',
  BTRFS_ADDON_UNAVAILABLE: 'the native addon could not be loaded (send, receive and subvolume need it)',
  BTRFS_NOT_BTRFS: 'the path is not on a btrfs filesystem',
  BTRFS_NOT_SUBVOLUME: 'the path is not the root of a btrfs subvolume',
  BTRFS_SUBVOLUME_NOT_FOUND: 'no subvolume with that id, uuid or path exists',
  BTRFS_CROSS_FILESYSTEM: 'subvolumes given together are on different btrfs filesystems',
  BTRFS_PERMISSION_DENIED: 'the operation needs CAP_SYS_ADMIN (run as root)',
  BTRFS_SEND_NOT_READONLY: 'a subvolume to send, its parent or a clone source is not read-only',
  BTRFS_SEND_PROTOCOL_UNSUPPORTED: 'this kernel cannot send the requested protocol version',
  BTRFS_SEND_NO_PARENT: 'no parent could be chosen from the clone sources (as btrfs send -c does)',
  BTRFS_SEND_INCOMPLETE: 'the send ended without the kernel reporting success',
  BTRFS_STREAM_EMPTY: 'the input holds no stream at all',
  BTRFS_STREAM_BAD_MAGIC: 'the input does not start with the btrfs-stream magic',
  BTRFS_STREAM_UNSUPPORTED_VERSION: 'the stream version is not 1, 2 or 3',
  BTRFS_STREAM_BAD_CRC: 'a command failed its CRC32C check',
  BTRFS_STREAM_TRUNCATED: 'the input ended inside a command or before END',
  BTRFS_STREAM_TOO_LARGE: 'a command is longer than maxCommandLength',
  BTRFS_STREAM_BAD_ATTRIBUTE: 'an attribute is malformed, has the wrong size, or does not fit its command',
  BTRFS_STREAM_MISSING_ATTRIBUTE: 'a command lacks an attribute it requires',
  BTRFS_STREAM_DUPLICATE_ATTRIBUTE: 'a command carries the same attribute twice',
  BTRFS_STREAM_UNKNOWN_COMMAND: 'a command number this version does not define',
  BTRFS_STREAM_UNKNOWN_ATTRIBUTE: 'an attribute number no stream version defines (0, or above the highest of version 3)',
  BTRFS_STREAM_INVALID_COMMAND: 'the encoder was given a command it cannot write',
  BTRFS_STREAM_PATH_UNKNOWN: 'a command names a path that does not exist at that point of the stream (list, diff)',
  BTRFS_RECEIVE_PATH_REJECTED: 'a stream path would leave the destination (absolute, .., NUL, empty part)',
  BTRFS_RECEIVE_PARENT_NOT_FOUND: 'the parent or clone source named by a stream uuid is not on the destination',
  BTRFS_RECEIVE_COMMAND_FAILED: 'applying a stream command failed (see cause)',
  BTRFS_RECEIVE_NOT_SUPPORTED: 'the stream asks for something this receiver cannot do here',
  BTRFS_S3_SDK_MISSING: '@aws-sdk/client-s3 is not installed (it is an optional peer dependency of btrfs-stream/s3)',
  BTRFS_S3_REQUEST_FAILED: 'an S3 request failed after its retries (the SDK error is the cause)',
  BTRFS_S3_TOO_LARGE: 'the stream is larger than an S3 object can be (5 TiB in 10,000 parts)',
  BTRFS_S3_NOT_A_BACKUP: 'the object has no btrfs-stream manifest, or the manifest is unreadable',
  BTRFS_S3_LENGTH_MISMATCH: 'the downloaded object is not as long as the stream that was uploaded',
  BTRFS_S3_CHECKSUM_MISMATCH: "the downloaded object's SHA-256 differs from the uploaded stream's",
  BTRFS_S3_BACKUP_NOT_FOUND: 'no backup under the prefix matches the requested snapshot',
  BTRFS_S3_CHAIN_BROKEN: 'a backup in the chain needs a parent that is neither under the prefix nor on the destination',
  BTRFS_RECEIVE_WORKER_FAILED: 'the receive worker thread died before finishing (see cause)',
  BTRFS_DUMP_TIME_OUT_OF_RANGE: 'a time cannot be converted to local time for dump text (as btrfs receive --dump fails)',
  BTRFS_SYSTEM_ERROR: 'a syscall failed with an errno this platform has no name for',
  BTRFS_INTERNAL: 'an internal invariant broke (a bug: please report it)',
} as const

/** Every code a warning (the onWarning callbacks of parse, dump and receive) carries. */
export const WARNING_CODES = {
  BTRFS_STREAM_ATTRIBUTE_NOT_IN_VERSION: 'an attribute number the stream version does not define was skipped',
  BTRFS_STREAM_UNEXPECTED_ATTRIBUTE: 'an attribute the command does not take was skipped',
  BTRFS_RECEIVE_ENCODED_WRITE_FALLBACK: 'encoded writes are unavailable here: the data is decompressed and written instead',
  BTRFS_RECEIVE_FILEATTR_SKIPPED: 'inode flags were not applied to a special file (no ioctl opens it)',
  BTRFS_RECEIVE_UNKNOWN_COMMAND: 'an unknown command was skipped',
  BTRFS_RECEIVE_COMMAND_FAILED: 'a command failed and was skipped under maxErrors (the warning carries the error)',
  BTRFS_RECEIVE_PATH_REJECTED: 'a command was refused for its path and skipped under maxErrors (the warning carries the error)',
} as const

export type BtrfsCode = keyof typeof ERROR_CODES
/** An errno name of this platform (os.constants.errno), the code of a BtrfsSystemError. */
export type ErrnoCode = keyof typeof constants.errno
/** Every code a BtrfsError can carry. */
export type ErrorCode = BtrfsCode | ErrnoCode | 'ABORT_ERR'
export type WarningCode = keyof typeof WARNING_CODES

/** errno number -> name; the first name wins for aliases (EAGAIN over EWOULDBLOCK, as libuv). */
const ERRNO_NAMES = new Map<number, ErrnoCode>()
for (const [name, number] of Object.entries(constants.errno) as [ErrnoCode, number][]) {
  if (!ERRNO_NAMES.has(number)) ERRNO_NAMES.set(number, name)
}

/** Whether `code` is in the registry (what BtrfsError accepts). */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && (Object.hasOwn(ERROR_CODES, code) || Object.hasOwn(constants.errno, code) || code === 'ABORT_ERR')
}

export function isWarningCode(code: unknown): code is WarningCode {
  return typeof code === 'string' && Object.hasOwn(WARNING_CODES, code)
}

/** The errno name of a (positive or negative) errno number, from os.constants.errno. */
export function errnoName(errno: number): ErrnoCode | undefined {
  return ERRNO_NAMES.get(Math.abs(errno))
}

export interface BtrfsErrorOptions {
  cause?: unknown
  path?: string
}

/** Base class of every error this package creates. */
export class BtrfsError extends Error {
  readonly code: ErrorCode
  path?: string

  constructor(code: ErrorCode, message: string, options: BtrfsErrorOptions = {}) {
    // An unregistered code is a bug in the caller; it must not reach users as a code.
    if (!isErrorCode(code)) throw new InvalidArgumentError(`error code ${String(code)} is not in the registry (message: ${String(message)})`)
    const { cause, path } = (typeof options === 'object' && options !== null ? options : {}) as BtrfsErrorOptions
    super(String(message), cause === undefined ? undefined : { cause })
    this.name = new.target.name
    this.code = code
    if (path !== undefined) this.path = path
  }
}

/** A wrong argument or option; the message names it and says what was expected. */
export class InvalidArgumentError extends BtrfsError {
  constructor(message: string) {
    super('BTRFS_INVALID_ARGUMENT', message)
  }
}

export interface SystemErrorInit {
  errno: number
  syscall: string
  ioctl?: string
  path?: string
  message?: string
  cause?: unknown
}

/** A failed syscall or ioctl, shaped like Node's fs errors. */
export class BtrfsSystemError extends BtrfsError {
  readonly errno: number
  readonly syscall: string
  readonly ioctl?: string

  constructor(init: SystemErrorInit) {
    if (typeof init !== 'object' || init === null || !Number.isInteger(init.errno)) {
      throw new InvalidArgumentError('BtrfsSystemError needs { errno: integer, syscall: string, ... }')
    }
    const errno = init.errno < 0 ? init.errno : -init.errno
    const name = errnoName(errno)
    const what = init.ioctl ?? init.syscall
    const text = init.message ?? `${what} failed`
    super(name ?? 'BTRFS_SYSTEM_ERROR', `${name ?? `errno ${-errno}`}: ${text}${init.path === undefined ? '' : `, '${init.path}'`}`, {
      cause: init.cause,
      path: init.path,
    })
    this.errno = errno
    this.syscall = init.syscall
    if (init.ioctl !== undefined) this.ioctl = init.ioctl
  }
}

export interface StreamFormatErrorInit {
  offset: number
  commandIndex?: number
  commandType?: number
  commandName?: string
  attribute?: number
  cause?: unknown
}

/** A malformed stream: says where (absolute byte offset and command index) and in what. */
export class StreamFormatError extends BtrfsError {
  readonly offset: number
  readonly commandIndex?: number
  readonly commandType?: number
  readonly commandName?: string
  readonly attribute?: number

  constructor(code: ErrorCode, detail: string, init: StreamFormatErrorInit) {
    if (typeof init !== 'object' || init === null || !Number.isSafeInteger(init.offset)) {
      throw new InvalidArgumentError('StreamFormatError needs { offset: integer, ... }')
    }
    const where = [`offset ${init.offset}`]
    if (init.commandIndex !== undefined) where.push(`command #${init.commandIndex}`)
    if (init.commandType !== undefined) where.push(`type ${init.commandName ?? 'unknown'}(${init.commandType})`)
    if (init.attribute !== undefined) where.push(`attribute ${init.attribute}`)
    super(code, `${String(detail)} (${where.join(', ')})`, { cause: init.cause })
    this.offset = init.offset
    if (init.commandIndex !== undefined) this.commandIndex = init.commandIndex
    if (init.commandType !== undefined) this.commandType = init.commandType
    if (init.commandName !== undefined) this.commandName = init.commandName
    if (init.attribute !== undefined) this.attribute = init.attribute
  }
}

/** Like core's AbortError: name 'AbortError', code 'ABORT_ERR', cause = signal.reason. */
export class AbortError extends BtrfsError {
  constructor(message: string = 'The operation was aborted', options: { cause?: unknown } = {}) {
    super('ABORT_ERR', message, options)
  }
}

/** A broken internal invariant (a bug), coded like every other error. */
export function internalError(message: string): BtrfsError {
  return new BtrfsError('BTRFS_INTERNAL', `internal: ${message}`)
}

/** The shape the addon throws or rejects with (see native/errno_error.cc). */
interface NativeErrnoError {
  message: string
  errno: number
  syscall: string
  ioctl?: string
}

export function isNativeErrnoError(err: unknown): err is NativeErrnoError {
  return typeof err === 'object' && err !== null && typeof (err as NativeErrnoError).errno === 'number' &&
    typeof (err as NativeErrnoError).syscall === 'string'
}

/**
 * Turns an addon error into a BtrfsSystemError whose stack starts at the caller (`stackFrom` is
 * an Error captured before the native call, as sharp does). Anything else passes through.
 */
export function fromNative(err: unknown, path?: string, stackFrom?: Error): unknown {
  if (!isNativeErrnoError(err)) return err
  const wrapped = new BtrfsSystemError({ errno: err.errno, syscall: err.syscall, ioctl: err.ioctl, path, cause: err })
  if (stackFrom?.stack) wrapped.stack = `${wrapped.name}: ${wrapped.message}\n${stackFrom.stack.split('\n').slice(1).join('\n')}`
  return wrapped
}

/**
 * A Node fs error (ENOENT from fs.open, ...) as a BtrfsSystemError with the same code, errno,
 * syscall and path; anything else passes through.
 */
export function fromNodeSystemError(err: unknown): unknown {
  const e = err as NodeJS.ErrnoException
  // Duck-typed: errors from Node internals may come from another realm (vm contexts, jest).
  if (typeof e !== 'object' || e === null || err instanceof BtrfsError || typeof e.errno !== 'number' || typeof e.syscall !== 'string') return err
  return new BtrfsSystemError({ errno: e.errno, syscall: e.syscall, path: e.path, message: `${e.syscall} failed`, cause: err })
}

/** An errno as a BtrfsSystemError (for errors detected in JS around a syscall). */
export function errnoError(errno: number, init: Omit<SystemErrorInit, 'errno'>): BtrfsSystemError {
  return new BtrfsSystemError({ ...init, errno })
}
