// Validates and normalises send()'s arguments synchronously, so mistakes throw at the call with
// a precise message (sharp-style) before any fd is opened.
import path from 'node:path'
import { InvalidArgumentError } from '../errors.js'
import { describe } from '../subvolume/api.js'
import type { SendProgressCallback } from './progress.js'

/** A subvolume named by path, or by its numeric id on the same filesystem. */
export type SubvolumeRef = string | bigint | number

export interface SendOptions {
  /** Incremental send against this read-only subvolume (btrfs send -p). */
  parent?: SubvolumeRef
  /** Subvolumes the kernel may clone from (btrfs send -c); without `parent`, one is chosen as btrfs send does. */
  cloneSources?: SubvolumeRef[]
  /** Stream version: 1 (the default, as btrfs send), 2, or 'latest' (what the kernel offers). */
  protocol?: 1 | 2 | 'latest'
  /** Send compressed extents as they are on disk (ENCODED_WRITE); needs protocol 2. */
  compressed?: boolean
  /** Metadata only: file data becomes UPDATE_EXTENT (btrfs send --no-data). */
  noFileData?: boolean
  /** Several subvolumes as one stream with one header and one END (btrfs send -e). */
  singleStream?: boolean
  signal?: AbortSignal
  /** Readable buffer size in bytes (send() only). Default 2 MiB: reads and writes overlap. */
  highWaterMark?: number
  /** Called with { bytes, total? } at most every 100 ms while sending, and once at the end. */
  onProgress?: SendProgressCallback
  /**
   * Run estimate() alongside the send so that progress reports carry `total` (once the
   * estimate has finished; a metadata-only send, usually a small fraction of the real one).
   */
  estimate?: boolean
}

export interface NormalizedSendOptions {
  subvolumes: string[]
  parent: SubvolumeRef | undefined
  cloneSources: SubvolumeRef[]
  protocol: 1 | 2 | 'latest' | undefined
  compressed: boolean
  noFileData: boolean
  singleStream: boolean
  signal: AbortSignal | undefined
  highWaterMark: number
  onProgress: SendProgressCallback | undefined
  estimate: boolean
}

const KNOWN = new Set(['parent', 'cloneSources', 'protocol', 'compressed', 'noFileData', 'singleStream', 'signal', 'highWaterMark', 'onProgress', 'estimate'])

function ref(value: unknown, name: string): SubvolumeRef {
  if (typeof value === 'string' && value.length > 0) return path.resolve(value)
  if (typeof value === 'bigint' && value >= 256n) return value
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 256) return BigInt(value)
  throw new InvalidArgumentError(`${name} must be a subvolume path or a subvolume id (>= 256), got ${describe(value)}`)
}

function bool(options: Record<string, unknown>, name: string): boolean {
  const v = options[name]
  if (v === undefined) return false
  if (typeof v !== 'boolean') throw new InvalidArgumentError(`options.${name} must be a boolean, got ${describe(v)}`)
  return v
}

export function normalizeSendOptions(subvolumes: unknown, options: unknown): NormalizedSendOptions {
  const list = typeof subvolumes === 'string' ? [subvolumes] : subvolumes
  if (!Array.isArray(list) || list.length === 0) {
    throw new InvalidArgumentError(`subvolumes must be a path or a non-empty array of paths, got ${describe(subvolumes)}`)
  }
  const paths = list.map((p, i) => {
    if (typeof p !== 'string' || p.length === 0) {
      throw new InvalidArgumentError(`subvolumes[${i}] must be a non-empty path string, got ${describe(p)}`)
    }
    return path.resolve(p)
  })
  if (options === undefined) options = {}
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidArgumentError(`options must be an object, got ${describe(options)}`)
  }
  const o = options as Record<string, unknown>
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key)) throw new InvalidArgumentError(`unknown option '${key}' (known: ${[...KNOWN].join(', ')})`)
  }
  const protocol = o.protocol
  if (protocol !== undefined && protocol !== 1 && protocol !== 2 && protocol !== 'latest') {
    throw new InvalidArgumentError(`options.protocol must be 1, 2 or 'latest', got ${describe(protocol)}`)
  }
  const compressed = bool(o, 'compressed')
  if (compressed && protocol === 1) {
    throw new InvalidArgumentError('options.compressed needs protocol 2 or later, but options.protocol is 1')
  }
  const cloneSources = o.cloneSources
  if (cloneSources !== undefined && !Array.isArray(cloneSources)) {
    throw new InvalidArgumentError(`options.cloneSources must be an array, got ${describe(cloneSources)}`)
  }
  const signal = o.signal
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new InvalidArgumentError(`options.signal must be an AbortSignal, got ${describe(signal)}`)
  }
  const hwm = o.highWaterMark
  if (hwm !== undefined && !(typeof hwm === 'number' && Number.isInteger(hwm) && hwm > 0)) {
    throw new InvalidArgumentError(`options.highWaterMark must be a positive integer, got ${describe(hwm)}`)
  }
  const onProgress = o.onProgress
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw new InvalidArgumentError(`options.onProgress must be a function, got ${describe(onProgress)}`)
  }
  const normalized: NormalizedSendOptions = {
    subvolumes: paths,
    parent: o.parent === undefined ? undefined : ref(o.parent, 'options.parent'),
    cloneSources: (cloneSources ?? []).map((c, i) => ref(c, `options.cloneSources[${i}]`)),
    protocol: protocol as NormalizedSendOptions['protocol'],
    compressed,
    noFileData: bool(o, 'noFileData'),
    singleStream: bool(o, 'singleStream'),
    signal: signal as AbortSignal | undefined,
    highWaterMark: (hwm as number | undefined) ?? 2 * 1024 * 1024,
    onProgress: onProgress as SendProgressCallback | undefined,
    estimate: bool(o, 'estimate'),
  }
  NORMALIZED.add(normalized)
  return normalized
}

/** Options objects made by normalizeSendOptions (SendStream refuses any other). */
const NORMALIZED = new WeakSet<object>()

export function isNormalizedSendOptions(value: unknown): value is NormalizedSendOptions {
  return typeof value === 'object' && value !== null && NORMALIZED.has(value)
}

/** `base` with some options changed, as a normalized object (estimate's metadata-only send). */
export function deriveSendOptions(base: NormalizedSendOptions, changes: Partial<NormalizedSendOptions>): NormalizedSendOptions {
  const derived: NormalizedSendOptions = { ...base, ...changes }
  NORMALIZED.add(derived)
  return derived
}
