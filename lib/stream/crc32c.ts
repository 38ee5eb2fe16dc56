// CRC32C (Castagnoli, reflected polynomial 0x82F63B78) as btrfs send uses it: seed 0 and no final
// XOR, i.e. a raw table update (kernel btrfs_crc32c(0, ...); btrfs-progs dev-send-stream.rst
// admits the zero seed was a mistake that stayed). Pure TypeScript slicing-by-8; the addon's
// SSE4.2 CRC takes over for inputs of NATIVE_CRC_THRESHOLD bytes or more once the edge module
// crc32c-native.ts has installed it (this file loads nothing itself).
import { CMD, COMMAND_HEADER_SIZE } from './constants.js'
import { u32 } from './framing.js'
import { InvalidArgumentError } from '../errors.js'
import { checkBytes, checkRange } from '../check.js'

const POLY = 0x82f63b78

/** 8 tables of 256 entries: T[k][b] is the CRC of byte b followed by k zero bytes. */
const T = new Int32Array(8 * 256)
for (let i = 0; i < 256; i++) {
  let c = i
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1
  T[i] = c
}
for (let i = 0; i < 256; i++) {
  for (let k = 1; k < 8; k++) {
    const prev = T[(k - 1) * 256 + i]
    T[k * 256 + i] = (prev >>> 8) ^ T[prev & 0xff]
  }
}

/**
 * Raw CRC32C update of `crc` with buf[start, end), pure TypeScript. Returns an unsigned 32-bit
 * number. `crc32cUpdateJs(0, bytes)` is the btrfs value; the standard CRC-32C of the same bytes is
 * `(crc32cUpdateJs(0xffffffff, bytes) ^ 0xffffffff) >>> 0`.
 */
export function crc32cUpdateJs(crc: number, buf: Uint8Array, start = 0, end = buf.length): number {
  let c = crc | 0
  let i = start
  const stop8 = end - 8
  while (i <= stop8) {
    const a = c ^ (buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24))
    c =
      T[1792 + (a & 0xff)] ^
      T[1536 + ((a >>> 8) & 0xff)] ^
      T[1280 + ((a >>> 16) & 0xff)] ^
      T[1024 + (a >>> 24)] ^
      T[768 + buf[i + 4]] ^
      T[512 + buf[i + 5]] ^
      T[256 + buf[i + 6]] ^
      T[buf[i + 7]]
    i += 8
  }
  while (i < end) c = (c >>> 8) ^ T[(c ^ buf[i++]) & 0xff]
  return c >>> 0
}

type Update = (crc: number, buf: Uint8Array, start: number, end: number) => number
type CommandCrc = (buf: Uint8Array, start: number, end: number) => number

/**
 * Below this many bytes the JS loop wins: measured here, a call into the addon costs about
 * 100 ns and the warm JS loop about 1.5 ns per byte; above it the SSE4.2 path (about 20 GB/s
 * for large inputs, against 1.1 GB/s for the JS loop) wins by far.
 */
export const NATIVE_CRC_THRESHOLD = 128

type FramesCrc = (buf: Uint8Array, start: number, end: number, maxLen: number) => number

/** The addon's CRC functions (see types/native.d.ts). */
export interface NativeCrc {
  crc32c: Update
  crc32cCommand: CommandCrc
  crc32cFrames: FramesCrc
}

let loader: (() => NativeCrc | null) | undefined
let nativeUpdate: Update | null | undefined
let nativeCommand: CommandCrc | null = null
let nativeFrames: FramesCrc | null = null

/**
 * Installs where the native CRC comes from (called by crc32c-native.ts); `load` runs on first
 * need and returns null when there is none. Until then everything is pure TypeScript.
 */
export function setNativeCrcLoader(load: () => NativeCrc | null): void {
  loader = load
  nativeUpdate = undefined
  nativeCommand = null
  nativeFrames = null
}

function loadNative(): Update | null {
  if (process.env.BTRFS_STREAM_PURE_CRC === '1' || loader === undefined) return null
  const crc = loader()
  if (crc === null) return null
  // Refuse an addon that disagrees with the reference (a miscompiled or foreign build).
  const probe = Uint8Array.from([0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39])
  if (crc.crc32c(0, probe, 0, probe.length) !== 0x58e3fa20) return null
  const end = Uint8Array.from([0, 0, 0, 0, 0x15, 0, 0xff, 0xff, 0xff, 0xff])
  if (crc.crc32cCommand(end, 0, end.length) !== 0x9dc96c50) return null
  nativeCommand = crc.crc32cCommand
  const frames = crc.crc32cFrames
  nativeFrames = (buf, start, stop, maxLen) => frames(buf, start, afterFirstEnd(buf, start, stop, maxLen), maxLen)
  return crc.crc32c
}

/**
 * Where a one-call check of the frames in buf[start, end) must stop: right after the first END
 * (a stream header, not a frame, may follow it), else `end`. The addon knows frames, not
 * commands.
 */
function afterFirstEnd(buf: Uint8Array, start: number, end: number, maxLen: number): number {
  let q = start
  while (end - q >= COMMAND_HEADER_SIZE) {
    const len = u32(buf, q)
    if (len > maxLen || end - q - COMMAND_HEADER_SIZE < len) break
    const cmd = buf[q + 4] | (buf[q + 5] << 8)
    q += COMMAND_HEADER_SIZE + len
    if (cmd === CMD.END) return q
  }
  return end
}

/** Whether the native CRC32C is in use (loaded lazily on first need). */
export function crc32cIsNative(): boolean {
  if (nativeUpdate === undefined) nativeUpdate = loadNative()
  return nativeUpdate !== null
}

/**
 * The addon's whole-chunk frame checker (see types/native.d.ts crc32cFrames), stopping after
 * the first END, or null without the addon. The decoder uses it to check every complete frame
 * of a chunk in one call.
 */
export function crc32cFramesChecker(): FramesCrc | null {
  if (nativeUpdate === undefined) nativeUpdate = loadNative()
  return nativeFrames
}

/**
 * The send-stream CRC of the command frame buf[start, end) (10-byte header + payload), with
 * the header's crc field (bytes 6..9) counted as zero, as the kernel computes it. One native
 * call for frames of at least NATIVE_CRC_THRESHOLD bytes, pure TypeScript below.
 */
export function crc32cCommandFrame(buf: Uint8Array, start: number, end: number): number {
  if (end - start >= NATIVE_CRC_THRESHOLD) {
    if (nativeUpdate === undefined) nativeUpdate = loadNative()
    if (nativeCommand !== null) return nativeCommand(buf, start, end)
  }
  let c = crc32cUpdateJs(0, buf, start, start + 6)
  c = (c >>> 8) ^ T[c & 0xff]
  c = (c >>> 8) ^ T[c & 0xff]
  c = (c >>> 8) ^ T[c & 0xff]
  c = (c >>> 8) ^ T[c & 0xff]
  return crc32cUpdateJs(c, buf, start + 10, end)
}

/**
 * Raw CRC32C update (seed as given, no final XOR). Uses the addon's hardware CRC for inputs of at
 * least NATIVE_CRC_THRESHOLD bytes when it is available, else crc32cUpdateJs. Both give identical
 * results; a missing addon (BTRFS_ADDON_UNAVAILABLE) silently means pure TypeScript.
 */
export function crc32cUpdate(crc: number, buf: Uint8Array, start = 0, end = buf?.length): number {
  if (!Number.isInteger(crc) || crc < -0x80000000 || crc > 0xffffffff) throw new InvalidArgumentError(`crc must be a 32-bit integer, got ${String(crc)}`)
  checkBytes(buf, 'buf')
  checkRange(buf, start, end)
  if (end - start >= NATIVE_CRC_THRESHOLD) {
    if (nativeUpdate === undefined) nativeUpdate = loadNative()
    if (nativeUpdate !== null) return nativeUpdate(crc, buf, start, end)
  }
  return crc32cUpdateJs(crc, buf, start, end)
}

/** The btrfs send CRC of `bytes` (seed 0, no final XOR). */
export function crc32c(bytes: Uint8Array): number {
  checkBytes(bytes, 'bytes')
  return crc32cUpdate(0, bytes, 0, bytes.length)
}
