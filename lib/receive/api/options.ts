// What receive() and the CLI's in-thread receiver (receive-fd.ts) accept and report: the option,
// progress, warning and result types, the option checks, and the worker options derived from
// them. Kept apart from receive.ts so the in-thread path loads none of the worker plumbing.
import { InvalidArgumentError } from '../../errors.js'
import type { ReceivedSubvolume } from '../fs/incoming.js'
import type { EngineOptions } from '../engine/engine.js'
import type { ReceiveError } from '../engine/receive-error.js'
import { DEFAULT_MAX_COMMAND_LENGTH } from '../../stream/constants.js'

export interface ReceiveProgress {
  /** Input bytes applied so far. */
  bytes: number
  commands: number
  /** Name of the subvolume being received, if any. */
  subvolume: string | undefined
  /** Subvolumes completed so far. */
  subvolumesDone: number
  /** Stream path (inside the subvolume, escaped for display) of the last command applied. */
  path: string | undefined
}

export interface ReceiveWarning {
  /** One of WARNING_CODES. */
  code: string
  message: string
  /** For a command that failed under maxErrors > 1. */
  error?: ReceiveError
}

export interface ReceiveOptions {
  signal?: AbortSignal
  /** Stop after this many failed commands, like btrfs receive -E (default 1; 0 = never). A subvolume with a failure is never marked received. */
  maxErrors?: number
  onProgress?: (progress: ReceiveProgress) => void
  /** Milliseconds between onProgress calls (default 200); also called at each subvolume start and end. */
  progressInterval?: number
  onWarning?: (warning: ReceiveWarning) => void
  /** On failure, keep the incomplete subvolume (writable, not received, under its temporary name) instead of deleting it. */
  keepPartial?: boolean
  /** Stop at the first END and leave the rest of the input unread, like btrfs receive -e. */
  stopAtEnd?: boolean
  /** Always decompress ENCODED_WRITE data instead of trying BTRFS_IOC_ENCODED_WRITE. */
  forceDecompress?: boolean
  /** Largest accepted command payload (see StreamDecoder). */
  maxCommandLength?: number
}

export interface ReceiveResult {
  subvolumes: ReceivedSubvolume[]
  commands: number
  bytes: number
}

/** What an option left out means (the README's option table is checked against this). */
export const RECEIVE_DEFAULTS = {
  maxErrors: 1,
  progressInterval: 200,
  keepPartial: false,
  stopAtEnd: false,
  forceDecompress: false,
  maxCommandLength: DEFAULT_MAX_COMMAND_LENGTH,
} as const satisfies Partial<Record<keyof ReceiveOptions, unknown>>

const KNOWN = new Set<string>([
  'signal',
  'maxErrors',
  'onProgress',
  'progressInterval',
  'onWarning',
  'keepPartial',
  'stopAtEnd',
  'forceDecompress',
  'maxCommandLength',
] satisfies (keyof ReceiveOptions)[])

export function validate(dest: unknown, options: ReceiveOptions): void {
  if (typeof dest !== 'string' || dest.length === 0) throw new InvalidArgumentError(`dest must be a non-empty path string, got ${typeof dest}`)
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options must be an object')
  // A misspelt option would otherwise be ignored silently (e.g. maxError: 0 receiving with the default).
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new InvalidArgumentError(`unknown option '${key}' (known: ${[...KNOWN].join(', ')})`)
  }
  const { maxErrors, progressInterval, maxCommandLength } = options
  if (maxErrors !== undefined && !(Number.isSafeInteger(maxErrors) && maxErrors >= 0)) {
    throw new InvalidArgumentError(`options.maxErrors must be a non-negative integer, got ${String(maxErrors)}`)
  }
  if (progressInterval !== undefined && !(Number.isFinite(progressInterval) && progressInterval >= 0)) {
    throw new InvalidArgumentError(`options.progressInterval must be a non-negative number, got ${String(progressInterval)}`)
  }
  if (maxCommandLength !== undefined && !(Number.isSafeInteger(maxCommandLength) && maxCommandLength > 0)) {
    throw new InvalidArgumentError(`options.maxCommandLength must be a positive integer, got ${String(maxCommandLength)}`)
  }
  for (const key of ['keepPartial', 'stopAtEnd', 'forceDecompress'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'boolean') {
      throw new InvalidArgumentError(`options.${key} must be a boolean, got ${typeof options[key]}`)
    }
  }
  for (const key of ['onProgress', 'onWarning'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'function') {
      throw new InvalidArgumentError(`options.${key} must be a function, got ${typeof options[key]}`)
    }
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new InvalidArgumentError('options.signal must be an AbortSignal')
  }
}

/** The engine's options (see engine.ts) for `options`; `verifyCrc` says who checks CRCs. */
export function engineOptions(options: ReceiveOptions, verifyCrc: boolean): EngineOptions {
  return {
    maxErrors: options.maxErrors ?? RECEIVE_DEFAULTS.maxErrors,
    keepPartial: options.keepPartial ?? RECEIVE_DEFAULTS.keepPartial,
    stopAtEnd: options.stopAtEnd ?? RECEIVE_DEFAULTS.stopAtEnd,
    forceDecompress: options.forceDecompress ?? RECEIVE_DEFAULTS.forceDecompress,
    maxCommandLength: options.maxCommandLength ?? RECEIVE_DEFAULTS.maxCommandLength,
    progressIntervalMs: options.progressInterval ?? RECEIVE_DEFAULTS.progressInterval,
    verifyCrc,
  }
}
