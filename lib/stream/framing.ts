// The framing rules that both stream readers apply: the StreamDecoder, and receive()'s
// caller-thread FrameChecker, which checks framing and CRCs without decoding. One place for the
// stream header check and the wording of its errors and of a CRC mismatch, so the two report
// the same problem the same way.
import type { BtrfsCode } from '../errors.js'
import { STREAM_MAGIC, type StreamVersion } from './constants.js'

/** Little-endian u32 at b[p] (as an unsigned number). */
export function u32(b: Uint8Array, p: number): number {
  return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0
}

/**
 * The version of the 17-byte stream header at b[q]. A bad magic or an unsupported version is
 * thrown as `fail(code, detail)`; `afterEnd` says whether an END came before (the input was
 * expected to go on with another stream, or to stop).
 */
export function streamHeaderVersion(
  b: Uint8Array,
  q: number,
  afterEnd: boolean,
  fail: (code: BtrfsCode, detail: string) => Error,
): StreamVersion {
  for (let i = 0; i < STREAM_MAGIC.length; i++) {
    if (b[q + i] !== STREAM_MAGIC[i]) {
      throw fail('BTRFS_STREAM_BAD_MAGIC', afterEnd ? 'data after END is not a btrfs-stream header' : 'input does not start with the btrfs-stream magic')
    }
  }
  const version = u32(b, q + 13)
  if (version < 1 || version > 3) throw fail('BTRFS_STREAM_UNSUPPORTED_VERSION', `stream version ${version} not supported`)
  return version as StreamVersion
}

/** The detail of a BTRFS_STREAM_BAD_CRC error (progs' wording). */
export function crcMismatch(stored: number, computed: number): string {
  return `crc32 mismatch in command: stored 0x${stored.toString(16)}, computed 0x${computed.toString(16)}`
}
