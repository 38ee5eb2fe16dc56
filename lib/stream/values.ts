// Helpers for the value types commands carry: byte paths and names for display, timespecs as
// Dates or nanoseconds, device numbers as major and minor. UUID text lives in lib/uuid.ts
// (formatUuid). No wire-format knowledge.
import type { Timespec } from './commands.js'
import { InvalidArgumentError } from '../errors.js'
import { checkBytes, checkTimespec } from '../check.js'

/**
 * A path or name as a string. 'utf8' (the default) replaces invalid sequences with U+FFFD, so it
 * is for display only; use 'latin1' for a lossless one-char-per-byte string, or keep the Buffer
 * (Node's fs accepts Buffer paths).
 */
export function decodePath(bytes: Uint8Array, encoding: 'utf8' | 'latin1' = 'utf8'): string {
  checkBytes(bytes, 'bytes')
  if (encoding !== 'utf8' && encoding !== 'latin1') throw new InvalidArgumentError(`encoding must be 'utf8' or 'latin1', got ${String(encoding)}`)
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString(encoding)
}

/** Whether bytes are valid UTF-8, i.e. decodePath(bytes) loses nothing. */
export function isUtf8Path(bytes: Uint8Array): boolean {
  checkBytes(bytes, 'bytes')
  return Buffer.from(decodePath(bytes), 'utf8').equals(bytes)
}

/** A timespec as a Date (millisecond precision; nanoseconds are truncated). */
export function toDate(ts: Timespec): Date {
  checkTimespec(ts, 'ts')
  return new Date(Number(ts.sec) * 1000 + Math.floor(ts.nsec / 1e6))
}

/**
 * MKNOD's rdev (the kernel's new_encode_dev form: minor's low 8 bits, then 12 bits of major,
 * then the rest of minor) as major and minor.
 */
export function decodeDev(rdev: bigint): { major: number; minor: number } {
  const raw = Number(rdev & 0xffffffffn)
  return { major: (raw >>> 8) & 0xfff, minor: (raw & 0xff) | ((raw >>> 12) & 0xfff00) }
}

/** A timespec as nanoseconds since the epoch. */
export function toNanoseconds(ts: Timespec): bigint {
  checkTimespec(ts, 'ts')
  return ts.sec * 1_000_000_000n + BigInt(ts.nsec)
}
