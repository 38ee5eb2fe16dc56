// The one registry of error codes and the error classes built on it. A code never changes
// meaning once published (Node's rule); the README lists every code in ERROR_CODES. System errors
// are shaped like Node's fs errors (code = errno name, negative errno, syscall, path) so existing
// `err.code === 'ENOENT'` handling keeps working.
import { getSystemErrorName } from 'node:util'

/** Every BTRFS_* code this package raises, with what it means. */
export const ERROR_CODES = {
  BTRFS_INVALID_ARGUMENT: 'an argument or option has the wrong type or value',
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
} as const

export type ErrorCode = keyof typeof ERROR_CODES

export interface BtrfsErrorOptions {
  cause?: unknown
  path?: string
}

/** Base class of every error this package creates. */
export class BtrfsError extends Error {
  readonly code: string
  path?: string

  constructor(code: ErrorCode | string, message: string, options: BtrfsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    if (options.path !== undefined) this.path = options.path
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
    const errno = init.errno < 0 ? init.errno : -init.errno
    const name = safeErrnoName(errno)
    const what = init.ioctl ?? init.syscall
    const text = init.message ?? `${what} failed`
    super(name, `${name}: ${text}${init.path === undefined ? '' : `, '${init.path}'`}`, {
      cause: init.cause,
      path: init.path,
    })
    this.errno = errno
    this.syscall = init.syscall
    if (init.ioctl !== undefined) this.ioctl = init.ioctl
  }
}

function safeErrnoName(errno: number): string {
  try {
    return getSystemErrorName(errno)
  } catch {
    return `Unknown system error ${errno}`
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
    const where = [`offset ${init.offset}`]
    if (init.commandIndex !== undefined) where.push(`command #${init.commandIndex}`)
    if (init.commandType !== undefined) where.push(`type ${init.commandName ?? 'unknown'}(${init.commandType})`)
    if (init.attribute !== undefined) where.push(`attribute ${init.attribute}`)
    super(code, `${detail} (${where.join(', ')})`, { cause: init.cause })
    this.offset = init.offset
    if (init.commandIndex !== undefined) this.commandIndex = init.commandIndex
    if (init.commandType !== undefined) this.commandType = init.commandType
    if (init.commandName !== undefined) this.commandName = init.commandName
    if (init.attribute !== undefined) this.attribute = init.attribute
  }
}

/** Like core's AbortError: name 'AbortError', code 'ABORT_ERR', cause = signal.reason. */
export class AbortError extends Error {
  readonly code = 'ABORT_ERR'

  constructor(message = 'The operation was aborted', options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'AbortError'
  }
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

/** An errno as a BtrfsSystemError (for errors detected in JS around a syscall). */
export function errnoError(errno: number, init: Omit<SystemErrorInit, 'errno'>): BtrfsSystemError {
  return new BtrfsSystemError({ ...init, errno })
}
