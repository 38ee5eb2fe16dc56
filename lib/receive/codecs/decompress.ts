// The ENCODED_WRITE fallback: decompresses one encoded extent into a zeroed buffer of its
// unencoded length: zlib through node:zlib, zstd through fzstd (Node 20's
// zlib has no zstd), btrfs LZO (per-sector segments, see below) through lzo1x.ts. Output never
// exceeds unencodedLen, so a hostile extent cannot make us allocate more than the caller allows.
import type * as Zlib from 'node:zlib'
import type * as Fzstd from 'fzstd'
import { lzo1xDecompress } from './lzo1x.js'

let zstd: typeof Fzstd | undefined
let zlib: typeof Zlib | undefined
/** fzstd and node:zlib load on first use: most receives never fall back, and start faster. */
function fzstd(): typeof Fzstd {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  zstd ??= require('fzstd') as typeof Fzstd
  return zstd
}
function nodeZlib(): typeof Zlib {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  zlib ??= require('node:zlib') as typeof Zlib
  return zlib
}

/** BTRFS_ENCODED_IO_COMPRESSION_* values. */
export const COMPRESSION = { NONE: 0, ZLIB: 1, ZSTD: 2, LZO_4K: 3, LZO_64K: 7 } as const

export function compressionName(c: number): string {
  if (c === 1) return 'zlib'
  if (c === 2) return 'zstd'
  if (c >= 3 && c <= 7) return `lzo (${4 << (c - 3)} KiB sectors)`
  return `unknown compression ${c}`
}

/** The decompressed extent: exactly `unencodedLen` bytes, zero past what the data yields. */
export function decompressExtent(compression: number, data: Uint8Array, unencodedLen: number): Buffer {
  const out = Buffer.alloc(unencodedLen)
  if (compression === COMPRESSION.ZLIB) {
    const z = nodeZlib()
    const raw = z.inflateSync(data, { maxOutputLength: Math.max(unencodedLen, 1), finishFlush: z.constants.Z_SYNC_FLUSH })
    raw.copy(out, 0, 0, Math.min(raw.length, unencodedLen))
  } else if (compression === COMPRESSION.ZSTD) {
    // The extent is padded with zeros to a sector: decode exactly one frame (btrfs-progs e3209f87
    // fixed garbage from reading past it). fzstd writes into `out`; a frame claiming more fails.
    const raw = fzstd().decompress(data.subarray(0, zstdFrameLength(data)), out)
    if (raw.buffer !== out.buffer || raw.byteOffset !== out.byteOffset) out.set(raw.subarray(0, unencodedLen))
  } else if (compression >= COMPRESSION.LZO_4K && compression <= COMPRESSION.LZO_64K) {
    btrfsLzo(data, 1 << (compression - COMPRESSION.LZO_4K + 12), out)
  } else {
    throw new RangeError(compressionName(compression))
  }
  return out
}

/**
 * btrfs's LZO framing (kernel fs/btrfs/lzo.c): le32 total length (header included), then
 * segments of le32 length + LZO1X data, each decompressing to at most one sector. A segment
 * header never straddles a sector boundary: when fewer than 4 bytes remain, skip to the next.
 */
function btrfsLzo(data: Uint8Array, sector: number, out: Uint8Array): void {
  const le32 = (p: number) => (data[p] | (data[p + 1] << 8) | (data[p + 2] << 16) | (data[p + 3] << 24)) >>> 0
  if (data.length < 4) throw new RangeError('lzo: extent shorter than its header')
  const total = le32(0)
  if (total > data.length || total < 4) throw new RangeError(`lzo: header length ${total} does not fit ${data.length} bytes`)
  let pos = 4
  let op = 0
  while (pos < total && op < out.length) {
    if (pos + 4 > total) throw new RangeError('lzo: truncated segment header')
    const seg = le32(pos)
    pos += 4
    if (pos + seg > total) throw new RangeError('lzo: segment overruns the extent')
    const segOut = new Uint8Array(sector)
    const n = lzo1xDecompress(data, pos, pos + seg, segOut, 0)
    const take = Math.min(n, out.length - op)
    out.set(segOut.subarray(0, take), op)
    op += take
    pos += seg
    const left = sector - (pos % sector)
    if (left < 4) pos += left
  }
}

/** Length of the zstd frame at the start of `data`, walked through its block headers (RFC 8878 §3.1.1). */
export function zstdFrameLength(data: Uint8Array): number {
  if (data.length < 6 || data[0] !== 0x28 || data[1] !== 0xb5 || data[2] !== 0x2f || data[3] !== 0xfd) {
    throw new RangeError('zstd: no frame magic')
  }
  const fhd = data[4]
  const singleSegment = (fhd >> 5) & 1
  const fcsBytes = [singleSegment ? 1 : 0, 2, 4, 8][fhd >> 6]
  let pos = 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][fhd & 3] + fcsBytes
  for (;;) {
    if (pos + 3 > data.length) throw new RangeError('zstd: frame runs past the extent')
    const header = data[pos] | (data[pos + 1] << 8) | (data[pos + 2] << 16)
    pos += 3 + (((header >> 1) & 3) === 1 ? 1 : header >>> 3)
    if (header & 1) break
  }
  if ((fhd >> 2) & 1) pos += 4
  if (pos > data.length) throw new RangeError('zstd: frame runs past the extent')
  return pos
}
