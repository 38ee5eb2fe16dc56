// StreamDecoder: the synchronous, I/O-free core that turns bytes of one or more concatenated send
// streams into typed commands. Chunks are read in place; bytes are copied only into a buffer of
// exactly the unit's size when a stream header or command straddles chunks, and a command's
// `len` is checked against maxCommandLength before anything of its body is buffered. Every
// command's CRC32C is checked before its TLVs are split. After the first error it stays failed.
// Attribute numbers follow btrfs-progs: 0 or above the highest any version defines is an error
// (also inside an unknown command, whose TLVs progs splits too); a number the stream's own
// version lacks, or one the command does not take, is skipped with a warning.
import { BtrfsError, InvalidArgumentError, StreamFormatError, type BtrfsCode, type WarningCode } from '../errors.js'
import {
  ATTRIBUTES_BY_NUMBER,
  COMMANDS_BY_NUMBER,
  type Command,
  type CommandSchema,
  type AttributeKind,
} from './commands.js'
import {
  ATTR,
  ATTR_MAX,
  CMD_MAX,
  COMMAND_HEADER_SIZE,
  DEFAULT_MAX_COMMAND_LENGTH,
  STREAM_HEADER_SIZE,
  TIMESPEC_SIZE,
  UUID_SIZE,
  type StreamVersion,
} from './constants.js'
import { builderFor } from './builders.js'
import { checkOptions } from '../check.js'
import { crc32cCommandFrame, crc32cFramesChecker } from './crc32c.js'
import { crcMismatch, streamHeaderVersion, u32 } from './framing.js'

export interface DecoderOptions {
  /** Check every command's CRC32C (default true). */
  verifyCrc?: boolean
  /**
   * Largest accepted command payload (`len`, excluding the 10-byte header). Default
   * DEFAULT_MAX_COMMAND_LENGTH (256 KiB), above what any kernel emits; checked before buffering.
   */
  maxCommandLength?: number
  /**
   * Yield command numbers the stream's version does not define as `{ type: 'unknown' }` instead
   * of failing (what `btrfs receive --dump` does: it skips them). Their TLV framing is still checked.
   */
  allowUnknownCommands?: boolean
  /**
   * Copy byte values (paths, names, uuids, data) out of the input. Without it they are views into
   * the input chunks or the decoder's straddle buffer: valid until the next command is pulled.
   */
  copy?: boolean
  /** Called for attributes that are skipped: numbers the stream's version lacks, or ones the command does not take. */
  onWarning?: (warning: StreamWarning) => void
}

export type StreamWarningCode = Extract<WarningCode, 'BTRFS_STREAM_ATTRIBUTE_NOT_IN_VERSION' | 'BTRFS_STREAM_UNEXPECTED_ATTRIBUTE'>

export interface StreamWarning {
  code: StreamWarningCode
  message: string
  /** Absolute offset of the command's header. */
  offset: number
  commandIndex: number
  commandType: number
  commandName?: string
  attribute: number
}

const enum State {
  Header,
  Command,
  AfterEnd,
}

const MAX_SAFE_HIGH = 0x1fffff
/** The highest attribute number of any version; btrfs-progs refuses higher ones. */
const ATTR_LIMIT = ATTR_MAX[3]

/** Per command number: 0 = attribute not taken, 1 = optional, 2 = required (derived from COMMANDS). */
const ATTR_ROLE: readonly (Uint8Array | undefined)[] = COMMANDS_BY_NUMBER.map((s) => {
  if (!s) return undefined
  const roles = new Uint8Array(64)
  const optional = s.optional as readonly string[]
  for (const field of s.fields as readonly string[]) {
    const attr = ATTRIBUTES_BY_NUMBER.findIndex((a) => a?.field === field)
    roles[attr] = optional.includes(field) ? 1 : 2
  }
  return roles
})
const REQUIRED_COUNT: readonly number[] = ATTR_ROLE.map((r) => (r ? r.reduce((n, v) => n + (v === 2 ? 1 : 0), 0) : 0))

/** Wire kinds as small integers (a switch on them is cheaper than on strings before the JIT warms up). */
const enum Kind {
  None,
  U8,
  U32,
  U64,
  U64n,
  Uuid,
  Timespec,
  Bytes,
}
const KIND_NUMBER: Readonly<Record<AttributeKind, Kind>> = {
  u8: Kind.U8,
  u32: Kind.U32,
  u64: Kind.U64,
  u64n: Kind.U64n,
  uuid: Kind.Uuid,
  timespec: Kind.Timespec,
  bytes: Kind.Bytes,
  data: Kind.Bytes,
}
/** Kind by attribute number; Kind.None for numbers no version defines. */
const KIND_BY_ATTR = Uint8Array.from({ length: 64 }, (_, t) => {
  const spec = ATTRIBUTES_BY_NUMBER[t]
  return spec ? KIND_NUMBER[spec.kind] : Kind.None
})

function attrName(t: number): string {
  return ATTRIBUTES_BY_NUMBER[t]?.name ?? String(t)
}

function asBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
}

export class StreamDecoder {
  readonly #verifyCrc: boolean
  readonly #maxLen: number
  readonly #allowUnknown: boolean
  readonly #copy: boolean
  readonly #onWarning: ((w: StreamWarning) => void) | undefined

  #state = State.Header
  /** Absolute offset of the unit (stream header or command) being read. */
  #pos = 0
  #version: StreamVersion = 1
  #stream = -1
  #index = 0
  #sawInput = false
  #failed: StreamFormatError | undefined
  /** The chunk being read (write()/next()) and the read position in it. */
  #chunk: Buffer | undefined
  #p = 0
  /** Frames of #chunk starting before this offset passed the addon's batch CRC check. */
  #verifiedTo = 0
  /** Offset in #chunk of a frame the batch check found bad (-1: none). */
  #badFrame = -1
  readonly #frames = crc32cFramesChecker()
  /** Attribute values of the command being decoded, by attribute number (see builders.ts). */
  readonly #slots: unknown[] = new Array<unknown>(64).fill(undefined)
  /** Which slots the current command filled, to clear them after it is built. */
  readonly #used = new Uint8Array(64)
  /** Straddle buffer: holds the unit's first #fill bytes out of #need. */
  #pending: Buffer | undefined
  /**
   * Pull mode (write()/next()) reuses one grow-only straddle buffer; push() needs every command
   * of its batch intact at once, so it allocates a fresh one per straddle.
   */
  #reuse = true
  #spare: Buffer | undefined
  #fill = 0
  #need = 0

  constructor(options: DecoderOptions = {}) {
    options = checkOptions(options)
    this.#verifyCrc = options.verifyCrc ?? true
    const max = options.maxCommandLength ?? DEFAULT_MAX_COMMAND_LENGTH
    if (!Number.isSafeInteger(max) || max < 0) throw new InvalidArgumentError(`maxCommandLength must be a non-negative integer, got ${String(max)}`)
    if (options.onWarning !== undefined && typeof options.onWarning !== 'function') throw new InvalidArgumentError('onWarning must be a function')
    this.#maxLen = max
    this.#allowUnknown = options.allowUnknownCommands ?? false
    this.#copy = options.copy ?? false
    this.#onWarning = options.onWarning
  }

  /** Bytes consumed so far into complete units (stream headers and commands). */
  get position(): number {
    return this.#pos
  }

  /** Commands decoded so far. */
  get commandCount(): number {
    return this.#index
  }

  /** Version of the stream being read (1 before any header). */
  get version(): StreamVersion {
    return this.#version
  }

  /** True when the input so far ends exactly after an END (a valid place to stop). */
  get atEnd(): boolean {
    return this.#state === State.AfterEnd && this.#pending === undefined
  }

  /**
   * Feeds bytes; returns the commands they complete, in order. Throws StreamFormatError. The
   * commands' byte fields stay valid as long as `chunk` is not modified.
   */
  push(chunk: Uint8Array): Command[] {
    this.write(chunk)
    const out: Command[] = []
    this.#reuse = false
    try {
      for (let c = this.next(); c !== undefined; c = this.next()) out.push(c)
    } finally {
      this.#reuse = true
    }
    return out
  }

  /**
   * Pull-style feeding: hands over `chunk`, whose commands are then taken one at a time with
   * next() until it returns undefined. Only one command needs to be alive at a time, which keeps
   * a consumer of many small commands from holding a whole chunk's worth of objects.
   */
  write(chunk: Uint8Array): void {
    if (this.#failed) throw this.#failed
    if (!(chunk instanceof Uint8Array)) throw new InvalidArgumentError(`StreamDecoder expects a Uint8Array or Buffer, got ${typeof chunk}`)
    if (this.#chunk) throw new BtrfsError('BTRFS_INVALID_CALL', 'StreamDecoder.write: call next() until it returns undefined first')
    if (chunk.length === 0) return
    this.#sawInput = true
    this.#chunk = asBuffer(chunk)
    this.#p = 0
    this.#verifiedTo = 0
    this.#badFrame = -1
  }

  /**
   * The next complete command of the written input, or undefined when more input is needed.
   * Its byte fields are valid until the following next() call (a command that straddled chunks
   * lives in a buffer the decoder reuses) and while the written chunk is unmodified.
   */
  next(): Command | undefined {
    if (this.#failed) throw this.#failed
    try {
      return this.#next()
    } catch (err) {
      if (err instanceof StreamFormatError) this.#failed = err
      throw err
    }
  }

  #next(): Command | undefined {
    const buf = this.#chunk
    if (!buf) return undefined
    const n = buf.length
    for (;;) {
      const p = this.#p
      if (p >= n) {
        this.#chunk = undefined
        return undefined
      }
      if (this.#pending) {
        const pending = this.#pending
        const take = Math.min(this.#need - this.#fill, n - p)
        buf.copy(pending, this.#fill, p, p + take)
        this.#fill += take
        this.#p = p + take
        if (this.#fill < this.#need) continue
        if (this.#state !== State.Command) {
          this.#pending = undefined
          this.#header(pending, 0)
          continue
        }
        if (this.#need === COMMAND_HEADER_SIZE) {
          const len = this.#checkLength(pending, 0)
          if (len > 0) {
            const grown = pending.length >= COMMAND_HEADER_SIZE + len ? pending : this.#straddleBuffer(COMMAND_HEADER_SIZE + len)
            if (grown !== pending) pending.copy(grown, 0, 0, COMMAND_HEADER_SIZE)
            this.#pending = grown
            this.#need = COMMAND_HEADER_SIZE + len
            continue
          }
        }
        this.#pending = undefined
        return this.#command(pending, 0, this.#need - COMMAND_HEADER_SIZE, false)
      }
      const rem = n - p
      if (this.#state !== State.Command) {
        if (rem < STREAM_HEADER_SIZE) {
          this.#stash(buf, p, rem, STREAM_HEADER_SIZE)
          continue
        }
        this.#header(buf, p)
        this.#p = p + STREAM_HEADER_SIZE
        continue
      }
      if (rem < COMMAND_HEADER_SIZE) {
        this.#stash(buf, p, rem, COMMAND_HEADER_SIZE)
        continue
      }
      const len = this.#checkLength(buf, p)
      const total = COMMAND_HEADER_SIZE + len
      if (rem < total) {
        this.#stash(buf, p, rem, total)
        continue
      }
      this.#p = p + total
      return this.#command(buf, p, len, this.#verifyCrc && this.#checkedInBatch(buf, p))
    }
  }

  /** Whether the frame at p of the chunk passed the addon's one-call check of the chunk's frames. */
  #checkedInBatch(buf: Buffer, p: number): boolean {
    if (this.#frames === null) return false
    if (p >= this.#verifiedTo && p !== this.#badFrame) {
      const r = this.#frames(buf, p, buf.length, this.#maxLen)
      if (r < 0) this.#badFrame = this.#verifiedTo = -r - 1
      else this.#verifiedTo = r
    }
    return p < this.#verifiedTo
  }

  /** Declares the input complete. Throws if it was empty or ended inside a command or before END. */
  end(): void {
    if (this.#failed) throw this.#failed
    if (this.#chunk) throw new BtrfsError('BTRFS_INVALID_CALL', 'StreamDecoder.end: call next() until it returns undefined first')
    let err: StreamFormatError | undefined
    if (!this.#sawInput) {
      err = new StreamFormatError('BTRFS_STREAM_EMPTY', 'empty stream is not considered valid', { offset: 0 })
    } else if (this.#pending) {
      const what = this.#state === State.Command ? 'a command' : 'a stream header'
      err = this.#error(
        'BTRFS_STREAM_TRUNCATED',
        `input ended inside ${what} at byte ${this.#pos + this.#fill} (${this.#fill} of ${this.#need} bytes)`,
        this.#state === State.Command && this.#fill >= 6 ? this.#pending[4] | (this.#pending[5] << 8) : undefined,
      )
    } else if (this.#state === State.Command) {
      err = this.#error('BTRFS_STREAM_TRUNCATED', `input ended at byte ${this.#pos} before END`)
    }
    if (err) {
      this.#failed = err
      throw err
    }
  }

  /** A buffer of at least `size` bytes for a straddling unit (see #reuse). */
  #straddleBuffer(size: number): Buffer {
    if (!this.#reuse) return Buffer.allocUnsafe(size)
    if (!this.#spare || this.#spare.length < size) {
      // Grow-only, to the largest command seen (at most maxCommandLength + 10).
      this.#spare = Buffer.allocUnsafeSlow(Math.max(size, Math.min(2 * (this.#spare?.length ?? 0), this.#maxLen + COMMAND_HEADER_SIZE), 4096))
    }
    return this.#spare
  }

  /** Keeps the last `count` bytes of the chunk (an incomplete unit needing `need` bytes). */
  #stash(buf: Buffer, p: number, count: number, need: number): void {
    const pending = this.#straddleBuffer(need)
    buf.copy(pending, 0, p, p + count)
    this.#pending = pending
    this.#fill = count
    this.#need = need
    this.#p = p + count
  }

  #header(b: Buffer, p: number): void {
    this.#version = streamHeaderVersion(b, p, this.#state === State.AfterEnd, (code, detail) => this.#error(code, detail))
    this.#stream++
    this.#state = State.Command
    this.#pos += STREAM_HEADER_SIZE
  }

  #checkLength(b: Buffer, p: number): number {
    const len = u32(b, p)
    if (len > this.#maxLen) {
      throw this.#error(
        'BTRFS_STREAM_TOO_LARGE',
        `command length ${len} exceeds maxCommandLength ${this.#maxLen}`,
        b[p + 4] | (b[p + 5] << 8),
      )
    }
    return len
  }

  #error(code: BtrfsCode, detail: string, cmd?: number, attribute?: number): StreamFormatError {
    return new StreamFormatError(code, detail, {
      offset: this.#pos,
      commandIndex: this.#index,
      commandType: cmd,
      commandName: cmd === undefined ? undefined : COMMANDS_BY_NUMBER[cmd]?.type,
      attribute,
    })
  }

  /** Decodes the frame at p; `crcChecked` when the batch check already verified it. */
  #command(b: Buffer, p: number, len: number, crcChecked: boolean): Command {
    const cmdNum = b[p + 4] | (b[p + 5] << 8)
    const end = p + COMMAND_HEADER_SIZE + len
    if (this.#verifyCrc && !crcChecked) {
      const stored = u32(b, p + 6)
      const crc = crc32cCommandFrame(b, p, end)
      if (crc !== stored) {
        throw this.#error('BTRFS_STREAM_BAD_CRC', crcMismatch(stored, crc), cmdNum)
      }
    }
    const version = this.#version
    const schema = cmdNum <= CMD_MAX[version] ? COMMANDS_BY_NUMBER[cmdNum] : undefined
    let cmd: Command
    if (!schema) {
      if (!this.#allowUnknown) {
        throw this.#error('BTRFS_STREAM_UNKNOWN_COMMAND', `unknown command ${cmdNum} for stream version ${version}`, cmdNum)
      }
      this.#checkTlvs(b, p + COMMAND_HEADER_SIZE, end, cmdNum)
      const payload = b.subarray(p + COMMAND_HEADER_SIZE, end)
      cmd = {
        type: 'unknown',
        offset: this.#pos,
        index: this.#index,
        stream: this.#stream,
        version,
        cmd: cmdNum,
        payload: this.#copy ? Buffer.from(payload) : payload,
      }
    } else {
      cmd = this.#attributes(b, p + COMMAND_HEADER_SIZE, end, cmdNum, schema)
      if (cmd.type === 'end') this.#state = State.AfterEnd
    }
    this.#index++
    this.#pos += COMMAND_HEADER_SIZE + len
    return cmd
  }

  #attributes(b: Buffer, q: number, end: number, cmdNum: number, schema: CommandSchema): Command {
    const version = this.#version
    const roles = ATTR_ROLE[cmdNum] as Uint8Array
    const maxAttr = ATTR_MAX[version]
    const slots = this.#slots
    const used = this.#used
    let nUsed = 0
    let seenLo = 0
    let seenHi = 0
    let required = 0
    try {
      while (q < end) {
        const t = this.#tlvType(b, q, end, cmdNum)
        const vs = this.#tlvValue(b, q, end, t, cmdNum)
        const vlen = this.#vlen
        q = vs + vlen
        const kind = t <= maxAttr ? KIND_BY_ATTR[t] : Kind.None
        if (kind === Kind.None) {
          this.#warn('BTRFS_STREAM_ATTRIBUTE_NOT_IN_VERSION', `attribute ${t} is not defined in stream version ${version}; skipped`, cmdNum, t)
          continue
        }
        const role = roles[t]
        if (role === 0) {
          this.#warn('BTRFS_STREAM_UNEXPECTED_ATTRIBUTE', `attribute ${attrName(t)} is not part of ${schema.type}; skipped`, cmdNum, t)
          continue
        }
        if (t < 32) {
          const bit = 1 << t
          if (seenLo & bit) throw this.#error('BTRFS_STREAM_DUPLICATE_ATTRIBUTE', `attribute ${attrName(t)} appears twice`, cmdNum, t)
          seenLo |= bit
        } else {
          const bit = 1 << (t - 32)
          if (seenHi & bit) throw this.#error('BTRFS_STREAM_DUPLICATE_ATTRIBUTE', `attribute ${attrName(t)} appears twice`, cmdNum, t)
          seenHi |= bit
        }
        if (role === 2) required++
        used[nUsed++] = t
        slots[t] = this.#value(kind, b, vs, vlen, cmdNum, t)
      }
      if (required !== REQUIRED_COUNT[cmdNum]) {
        for (const field of schema.fields as readonly string[]) {
          const attr = ATTRIBUTES_BY_NUMBER.findIndex((a) => a?.field === field)
          if (slots[attr] === undefined && !(schema.optional as readonly string[]).includes(field)) {
            throw this.#error('BTRFS_STREAM_MISSING_ATTRIBUTE', `attribute ${attr} requested but not present`, cmdNum, attr)
          }
        }
      }
      return builderFor(cmdNum)(this.#pos, this.#index, this.#stream, version, slots)
    } finally {
      // The slots are shared by every command: a value must not leak into the next one.
      for (let k = 0; k < nUsed; k++) slots[used[k]] = undefined
    }
  }

  /** Length of the value found by the last #tlvValue (a second return value without an allocation). */
  #vlen = 0

  /** The type of the TLV at q; an unknown number fails as btrfs-progs fails it. */
  #tlvType(b: Buffer, q: number, end: number, cmdNum: number): number {
    if (end - q < 2) throw this.#error('BTRFS_STREAM_BAD_ATTRIBUTE', 'attribute header runs past the command end', cmdNum)
    const t = b[q] | (b[q + 1] << 8)
    if (t === 0 || t > ATTR_LIMIT) throw this.#error('BTRFS_STREAM_UNKNOWN_ATTRIBUTE', `invalid tlv in cmd tlv_type = ${t}`, cmdNum, t)
    return t
  }

  /** Start of the value of the TLV of type t at q; its length goes to #vlen. */
  #tlvValue(b: Buffer, q: number, end: number, t: number, cmdNum: number): number {
    if (t === ATTR.DATA && this.#version >= 2) {
      // v2+: DATA has no length and runs to the end of the command.
      this.#vlen = end - q - 2
      return q + 2
    }
    if (end - q < 4) throw this.#error('BTRFS_STREAM_BAD_ATTRIBUTE', 'attribute header runs past the command end', cmdNum, t)
    const vlen = b[q + 2] | (b[q + 3] << 8)
    if (q + 4 + vlen > end) throw this.#error('BTRFS_STREAM_BAD_ATTRIBUTE', `attribute length ${vlen} runs past the command end`, cmdNum, t)
    this.#vlen = vlen
    return q + 4
  }

  /** Walks the TLVs of a command that is not decoded (unknown), checking only their framing. */
  #checkTlvs(b: Buffer, q: number, end: number, cmdNum: number): void {
    while (q < end) {
      const t = this.#tlvType(b, q, end, cmdNum)
      q = this.#tlvValue(b, q, end, t, cmdNum) + this.#vlen
    }
  }

  #value(kind: Kind, b: Buffer, vs: number, vlen: number, cmdNum: number, t: number): unknown {
    switch (kind) {
      case Kind.U64: {
        if (vlen !== 8) throw this.#badSize(t, 8, vlen, cmdNum)
        const hi = u32(b, vs + 4)
        if (hi > MAX_SAFE_HIGH) {
          throw this.#error('BTRFS_STREAM_BAD_ATTRIBUTE', `attribute ${attrName(t)} value exceeds Number.MAX_SAFE_INTEGER`, cmdNum, t)
        }
        return hi * 0x100000000 + u32(b, vs)
      }
      case Kind.U64n:
        if (vlen !== 8) throw this.#badSize(t, 8, vlen, cmdNum)
        return b.readBigUInt64LE(vs)
      case Kind.U32:
        if (vlen !== 4) throw this.#badSize(t, 4, vlen, cmdNum)
        return u32(b, vs)
      case Kind.U8:
        if (vlen !== 1) throw this.#badSize(t, 1, vlen, cmdNum)
        return b[vs]
      case Kind.Timespec:
        if (vlen !== TIMESPEC_SIZE) throw this.#badSize(t, TIMESPEC_SIZE, vlen, cmdNum)
        return { sec: b.readBigUInt64LE(vs), nsec: u32(b, vs + 8) }
      case Kind.Uuid:
        if (vlen !== UUID_SIZE) throw this.#badSize(t, UUID_SIZE, vlen, cmdNum)
        return this.#bytes(b, vs, vlen)
      default:
        return this.#bytes(b, vs, vlen)
    }
  }

  #badSize(t: number, expected: number, got: number, cmdNum: number): StreamFormatError {
    return this.#error('BTRFS_STREAM_BAD_ATTRIBUTE', `invalid size for attribute ${attrName(t)}, expected = ${expected}, got = ${got}`, cmdNum, t)
  }

  #bytes(b: Buffer, vs: number, vlen: number): Buffer {
    const view = b.subarray(vs, vs + vlen)
    return this.#copy ? Buffer.from(view) : view
  }

  #warn(code: StreamWarningCode, message: string, cmdNum: number, attribute: number): void {
    this.#onWarning?.({
      code,
      message,
      offset: this.#pos,
      commandIndex: this.#index,
      commandType: cmdNum,
      commandName: COMMANDS_BY_NUMBER[cmdNum]?.type,
      attribute,
    })
  }
}

/** Decodes a whole in-memory input (one or more concatenated streams). */
export function decodeAll(input: Uint8Array, options?: DecoderOptions): Command[] {
  const decoder = new StreamDecoder(options)
  const out = decoder.push(input)
  decoder.end()
  return out
}
