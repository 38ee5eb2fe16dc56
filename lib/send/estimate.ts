// estimate(): the size a send will have, from a metadata-only send of the same subvolumes with
// the same options (as `zfs send -nP` does). With NO_FILE_DATA the kernel walks exactly what
// the real send walks but writes one UPDATE_EXTENT (path, offset, size) where the real stream
// carries file data; every other command is the same. Each UPDATE_EXTENT is replaced here by
// the WRITE commands the kernel would emit for that range: one per max-data-chunk, each with its
// 10-byte header, PATH, FILE_OFFSET and DATA attributes.
import { parse } from '../stream/parser.js'
import { deriveSendOptions, normalizeSendOptions, type NormalizedSendOptions, type SendOptions } from './options.js'
import { SendStream } from './send-stream.js'

export interface SendEstimate {
  /** Expected stream size in bytes. */
  bytes: number
  /** File data bytes the stream will carry (WRITE payloads). */
  dataBytes: number
  /** Expected number of commands (END included; stream headers are not commands). */
  commands: number
}

export type EstimateOptions = Omit<SendOptions, 'highWaterMark' | 'onProgress' | 'estimate'>

// The kernel's data bytes per WRITE: its command buffer less 16 KiB. v1's buffer is 64 KiB;
// v2's is 16 KiB plus the largest compressed extent (128 KiB), page-aligned (4 KiB pages).
const MAX_WRITE_V1 = 48 * 1024
const MAX_WRITE_V2 = 128 * 1024
const HEADER = 10
const TLV = 4
const U64_TLV = TLV + 8

/** Bytes of one UPDATE_EXTENT with a path of `pathLen` bytes. */
function updateExtentSize(pathLen: number): number {
  return HEADER + TLV + pathLen + U64_TLV + U64_TLV
}

/** Bytes and commands of the WRITEs that carry `size` bytes of a file at a path of `pathLen`. */
function writesFor(size: number, pathLen: number, version: number): { bytes: number; commands: number } {
  const max = version >= 2 ? MAX_WRITE_V2 : MAX_WRITE_V1
  // From v2 on, DATA is the last attribute and has no length field: its 2-byte type only.
  const dataTlv = version >= 2 ? 2 : TLV
  const commands = Math.ceil(size / max)
  return { bytes: commands * (HEADER + TLV + pathLen + U64_TLV + dataTlv) + size, commands }
}

/**
 * Resolves to the expected size of `send(subvolumes, options)`. Every command but the data ones
 * is the kernel's own, so uncompressed estimates are exact unless the tree changes in between.
 * For `compressed` it is the size of the uncompressed stream: the kernel sends an extent
 * compressed only when its compressed bytes are no more than the range it covers, so each
 * ENCODED_WRITE is smaller than its WRITEs except for its 52 bytes of extra attributes (an
 * upper bound but for extents that compress to within 52 bytes of their range).
 */
export async function estimate(subvolumes: string | string[], options: EstimateOptions = {}): Promise<SendEstimate> {
  return estimateNormalized(normalizeSendOptions(subvolumes, options))
}

export async function estimateNormalized(options: NormalizedSendOptions): Promise<SendEstimate> {
  const metadata = new SendStream(deriveSendOptions(options, { noFileData: true, onProgress: undefined, estimate: false }))
  let extra = 0
  let commands = 0
  let dataBytes = 0
  try {
    // The kernel's own stream: its CRCs need no checking here.
    for await (const cmd of parse(metadata, { verifyCrc: false })) {
      commands++
      if (cmd.type !== 'update_extent' || options.noFileData) continue
      const writes = writesFor(cmd.size, cmd.path.length, cmd.version)
      extra += writes.bytes - updateExtentSize(cmd.path.length)
      commands += writes.commands - 1
      dataBytes += cmd.size
    }
  } finally {
    metadata.destroy()
  }
  return { bytes: metadata.bytesRead + extra, dataBytes, commands }
}
