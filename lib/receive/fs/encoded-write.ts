// ENCODED_WRITE: compressed extents written as they are with BTRFS_IOC_ENCODED_WRITE, or, where
// that ioctl is refused (forceDecompress, older kernels, other filesystems, ranges the kernel
// will not take), decompressed here and written as plain data. The fallbacks are btrfs
// receive's: ENOSPC and EINVAL fall back for this extent, ENOTTY, EPERM and EOPNOTSUPP for good.
import { constants as osc } from 'node:os'
import { BtrfsError } from '../../errors.js'
import type { EncodedWriteCommand } from '../../stream/commands.js'
import { compressionName, decompressExtent } from '../codecs/decompress.js'
import { errnoOf } from './old-kernel.js'
import type { QueuedOps } from './queued-ops.js'
import type { WriteGatherer } from './write-gather.js'

const E = osc.errno
/** Largest decompressed extent accepted in the fallback (btrfs's own limit is 128 KiB). */
const MAX_UNENCODED_LEN = 8 * 1024 * 1024

export class EncodedWrites {
  readonly #ops: QueuedOps
  readonly #writes: WriteGatherer
  readonly #forceDecompress: boolean
  readonly #warn: (code: string, message: string) => void
  #works = true

  constructor(ops: QueuedOps, writes: WriteGatherer, forceDecompress: boolean, warn: (code: string, message: string) => void) {
    this.#ops = ops
    this.#writes = writes
    this.#forceDecompress = forceDecompress
    this.#warn = warn
  }

  /** Writes `cmd`'s extent to the writable fd `fd`. */
  write(fd: number, cmd: EncodedWriteCommand): void {
    const compression = cmd.compression ?? 0
    const encryption = cmd.encryption ?? 0
    if (encryption !== 0) {
      throw new BtrfsError('BTRFS_RECEIVE_NOT_SUPPORTED', `encoded write with encryption ${encryption} is not supported`)
    }
    if (!this.#forceDecompress && this.#works) {
      try {
        this.#ops.encodedWrite(fd, cmd.data, cmd.fileOffset, cmd.unencodedFileLen, cmd.unencodedLen, cmd.unencodedOffset, compression, encryption)
        return
      } catch (err) {
        const errno = errnoOf(err)
        if (errno !== E.ENOSPC && errno !== E.ENOTTY && errno !== E.EINVAL && errno !== E.EPERM && errno !== E.EOPNOTSUPP) throw err
        if (errno === E.ENOTTY || errno === E.EPERM || errno === E.EOPNOTSUPP) {
          this.#works = false
          this.#warn('BTRFS_RECEIVE_ENCODED_WRITE_FALLBACK', `encoded writes unavailable (${errno === E.EPERM ? 'EPERM' : 'ENOTTY'}): decompressing instead`)
        }
      }
    }
    const { unencodedLen, unencodedOffset, unencodedFileLen } = cmd
    if (unencodedLen > MAX_UNENCODED_LEN || unencodedOffset + unencodedFileLen > unencodedLen) {
      throw new BtrfsError(
        'BTRFS_RECEIVE_COMMAND_FAILED',
        `encoded write ranges do not fit: unencoded_len ${unencodedLen}, offset ${unencodedOffset}, file_len ${unencodedFileLen}`,
      )
    }
    let plain: Buffer
    try {
      plain = decompressExtent(compression, cmd.data, unencodedLen)
    } catch (cause) {
      throw new BtrfsError('BTRFS_RECEIVE_COMMAND_FAILED', `cannot decompress ${compressionName(compression)} extent: ${(cause as Error).message}`, { cause })
    }
    this.#writes.add(fd, plain.subarray(unencodedOffset, unencodedOffset + unencodedFileLen), cmd.fileOffset)
  }
}
