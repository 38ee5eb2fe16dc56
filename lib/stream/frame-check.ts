// The caller-thread check of receive(): the framing and CRC32C of every byte, before the bytes go
// to the worker (which then decodes without checking CRCs), without decoding any command. Stream
// headers are checked (magic, version) as the decoder does; each command frame's CRC is checked
// once all its bytes have passed. Complete frames of a chunk take one addon call
// (crc32cFrames); a frame that straddles chunks is summed piece by piece as its bytes arrive, so
// nothing is buffered but up to 17 header bytes. Errors are the decoder's StreamFormatErrors,
// at the same offsets; truncation and unknown commands are left to the worker's decoder.
import { StreamFormatError, type ErrorCode } from '../errors.js'
import { COMMANDS_BY_NUMBER } from './commands.js'
import { CMD, COMMAND_HEADER_SIZE, DEFAULT_MAX_COMMAND_LENGTH, STREAM_HEADER_SIZE } from './constants.js'
import { crc32cCommandFrame, crc32cFramesChecker, crc32cUpdate } from './crc32c.js'
import { crcMismatch, streamHeaderVersion, u32 } from './framing.js'

const ZERO_CRC_FIELD = new Uint8Array(4)

/** crc32cFrames' contract in TypeScript, for when the addon is not there (exported for its test). */
export function framesJs(b: Uint8Array, start: number, end: number, maxLen: number): number {
  let q = start
  while (end - q >= COMMAND_HEADER_SIZE) {
    const len = u32(b, q)
    if (len > maxLen || end - q - COMMAND_HEADER_SIZE < len) break
    const frameEnd = q + COMMAND_HEADER_SIZE + len
    if (crc32cCommandFrame(b, q, frameEnd) !== u32(b, q + 6)) return -q - 1
    const cmd = b[q + 4] | (b[q + 5] << 8)
    q = frameEnd
    if (cmd === CMD.END) break
  }
  return q
}

export class FrameChecker {
  readonly #maxLen: number
  readonly #frames = crc32cFramesChecker() ?? framesJs
  /** Absolute offset of the unit (stream header or command) being read. */
  #pos = 0
  /** Commands completed so far. */
  #index = 0
  /** A stream header comes next (at the start, and after each END). */
  #inHeader = true
  /** An incomplete header (stream or command) carried over from earlier chunks. */
  readonly #part = new Uint8Array(STREAM_HEADER_SIZE)
  #partFill = 0
  /** The command whose payload straddles chunks: bytes still to come and the CRC so far. */
  #payloadLeft = 0
  #crc = 0
  #stored = 0
  #cmd = 0
  #len = 0

  constructor(maxCommandLength = DEFAULT_MAX_COMMAND_LENGTH) {
    this.#maxLen = maxCommandLength
  }

  /** Checks `chunk`, the input's next bytes; throws StreamFormatError at the first bad unit. */
  check(chunk: Uint8Array): void {
    const n = chunk.length
    let p = 0
    while (p < n) {
      if (this.#payloadLeft > 0) {
        const take = Math.min(this.#payloadLeft, n - p)
        this.#crc = crc32cUpdate(this.#crc, chunk, p, p + take)
        p += take
        this.#payloadLeft -= take
        if (this.#payloadLeft === 0) this.#endStraddled()
        continue
      }
      const need = this.#inHeader ? STREAM_HEADER_SIZE : COMMAND_HEADER_SIZE
      if (this.#partFill > 0 || n - p < need) {
        const take = Math.min(need - this.#partFill, n - p)
        this.#part.set(chunk.subarray(p, p + take), this.#partFill)
        this.#partFill += take
        p += take
        if (this.#partFill < need) continue
        this.#partFill = 0
        if (this.#inHeader) this.#streamHeader(this.#part, 0)
        else this.#beginStraddled(this.#part, 0)
        continue
      }
      if (this.#inHeader) {
        this.#streamHeader(chunk, p)
        p += STREAM_HEADER_SIZE
        continue
      }
      const r = this.#frames(chunk, p, n, this.#maxLen)
      const stop = r < 0 ? -r - 1 : r
      let last = -1
      while (p < stop) {
        last = chunk[p + 4] | (chunk[p + 5] << 8)
        const size = COMMAND_HEADER_SIZE + u32(chunk, p)
        p += size
        this.#pos += size
        this.#index++
      }
      if (r < 0) {
        const len = u32(chunk, p)
        const crc = crc32cCommandFrame(chunk, p, p + COMMAND_HEADER_SIZE + len)
        throw this.#badCrc(u32(chunk, p + 6), crc, chunk[p + 4] | (chunk[p + 5] << 8))
      }
      if (last === CMD.END) {
        this.#inHeader = true
        continue
      }
      // Stopped before a frame that is too long or incomplete (or a partial header, next turn).
      if (n - p >= COMMAND_HEADER_SIZE) {
        this.#beginStraddled(chunk, p)
        p += COMMAND_HEADER_SIZE
      }
    }
  }

  /** A command header at b[q]: checks its length, starts the CRC of its frame. */
  #beginStraddled(b: Uint8Array, q: number): void {
    this.#len = u32(b, q)
    this.#cmd = b[q + 4] | (b[q + 5] << 8)
    if (this.#len > this.#maxLen) {
      throw this.#error('BTRFS_STREAM_TOO_LARGE', `command length ${this.#len} exceeds maxCommandLength ${this.#maxLen}`, this.#cmd)
    }
    this.#stored = u32(b, q + 6)
    this.#crc = crc32cUpdate(crc32cUpdate(0, b, q, q + 6), ZERO_CRC_FIELD, 0, 4)
    this.#payloadLeft = this.#len
    if (this.#len === 0) this.#endStraddled()
  }

  #endStraddled(): void {
    const crc = this.#crc >>> 0
    if (crc !== this.#stored) throw this.#badCrc(this.#stored, crc, this.#cmd)
    this.#pos += COMMAND_HEADER_SIZE + this.#len
    this.#index++
    if (this.#cmd === CMD.END) this.#inHeader = true
  }

  #streamHeader(b: Uint8Array, q: number): void {
    streamHeaderVersion(b, q, this.#pos > 0, (code, detail) => this.#error(code, detail))
    this.#pos += STREAM_HEADER_SIZE
    this.#inHeader = false
  }

  #badCrc(stored: number, crc: number, cmd: number): StreamFormatError {
    return this.#error('BTRFS_STREAM_BAD_CRC', crcMismatch(stored, crc), cmd)
  }

  #error(code: ErrorCode, detail: string, cmd?: number): StreamFormatError {
    return new StreamFormatError(code, detail, {
      offset: this.#pos,
      commandIndex: this.#index,
      commandType: cmd,
      commandName: cmd === undefined ? undefined : COMMANDS_BY_NUMBER[cmd]?.type,
    })
  }
}
