// StreamEncoder: writes valid send-stream bytes (header, commands with correct CRC32C, v2+
// lengthless DATA) from the same schema table the decoder reads, so encode → decode round-trips.
// It checks what the format needs (required fields, value ranges, sizes) but never judges path
// contents, and raw() writes arbitrary commands and attributes, so tests can build hostile input.
import { InvalidArgumentError, StreamFormatError } from '../errors.js'
import { ATTRIBUTES, COMMANDS, type AttributeField, type Command, type CommandData } from './commands.js'
import {
  CMD_MAX,
  COMMAND_HEADER_SIZE,
  MAX_TLV_LENGTH,
  STREAM_HEADER_SIZE,
  STREAM_MAGIC,
  TIMESPEC_SIZE,
  UUID_SIZE,
  type StreamVersion,
} from './constants.js'
import { crc32cUpdate } from './crc32c.js'
import { checkOptions } from '../check.js'

export interface EncoderOptions {
  /** Protocol version written in the header and used for DATA framing (default 1). */
  version?: StreamVersion
}

/** One attribute for raw(): written exactly as given. */
export interface RawAttribute {
  type: number
  value: Uint8Array
  /** Write only the 2-byte type (the v2+ DATA framing), whatever the type. */
  noLength?: boolean
  /** Length field to write instead of value.length (a lie, for hostile tests). */
  length?: number
}

export interface RawCommandOptions {
  /** CRC field to write instead of the correct one. */
  crc?: number
  /** `len` field to write instead of the payload's real length. */
  len?: number
}

const MAX_U32 = 0xffffffff

function invalid(detail: string, cmd?: number, type?: string): StreamFormatError {
  return new StreamFormatError('BTRFS_STREAM_INVALID_COMMAND', detail, { offset: 0, commandType: cmd, commandName: type })
}

export class StreamEncoder {
  readonly version: StreamVersion

  constructor(options: EncoderOptions = {}) {
    options = checkOptions(options)
    const version = options.version ?? 1
    if (version !== 1 && version !== 2 && version !== 3) throw new InvalidArgumentError(`stream version must be 1, 2 or 3, got ${String(version)}`)
    this.version = version
  }

  /** The 17-byte stream header. */
  header(): Buffer {
    const b = Buffer.alloc(STREAM_HEADER_SIZE)
    b.set(STREAM_MAGIC, 0)
    b.writeUInt32LE(this.version, 13)
    return b
  }

  /**
   * One command frame. Origin fields of decoded commands (offset, index, …) are ignored, so a
   * decoded command re-encodes to its original bytes when its attributes were in kernel order.
   */
  encode(command: CommandData | Command): Buffer {
    if (typeof command !== 'object' || command === null) throw new InvalidArgumentError('command must be an object with a type')
    if (command.type === 'unknown' && !Number.isInteger(command.cmd)) throw invalid('an unknown command needs its number in cmd')
    if (command.type === 'unknown') return this.raw(command.cmd, [], { payload: command.payload })
    const schema = COMMANDS[command.type]
    if (!schema) throw invalid(`unknown command type ${JSON.stringify((command as { type: unknown }).type)}`)
    if (schema.cmd > CMD_MAX[this.version]) {
      throw invalid(`${schema.type} needs stream version ${schema.since}, this encoder writes ${this.version}`, schema.cmd, schema.type)
    }
    const attrs: RawAttribute[] = []
    const record = command as unknown as Record<string, unknown>
    const optional = schema.optional as readonly string[]
    for (const field of schema.fields as readonly AttributeField[]) {
      const value = record[field]
      if (value === undefined) {
        if (optional.includes(field)) continue
        throw invalid(`${schema.type} needs ${field}`, schema.cmd, schema.type)
      }
      const spec = ATTRIBUTES[field]
      const bytes = encodeValue(spec.kind, value, field, schema.cmd, schema.type)
      const lengthless = spec.kind === 'data' && this.version >= 2
      if (!lengthless && bytes.length > MAX_TLV_LENGTH) {
        throw invalid(`${field} is ${bytes.length} bytes; a TLV holds at most ${MAX_TLV_LENGTH}`, schema.cmd, schema.type)
      }
      attrs.push({ type: spec.attr, value: bytes, noLength: lengthless })
    }
    return this.raw(schema.cmd, attrs)
  }

  /**
   * A command frame with exactly the given attributes, in order, and a correct CRC unless
   * `options.crc` says otherwise. `options.payload` replaces the TLV area entirely.
   */
  raw(cmd: number, attributes: readonly RawAttribute[], options: RawCommandOptions & { payload?: Uint8Array } = {}): Buffer {
    checkRaw(cmd, attributes, checkOptions(options))
    let len = 0
    if (options.payload) len = options.payload.length
    else for (const a of attributes) len += (a.noLength ? 2 : 4) + a.value.length
    if (len > MAX_U32) throw invalid(`command payload of ${len} bytes does not fit a u32`, cmd)
    const b = Buffer.allocUnsafe(COMMAND_HEADER_SIZE + len)
    b.writeUInt32LE(options.len ?? len, 0)
    b.writeUInt16LE(cmd, 4)
    b.writeUInt32LE(0, 6)
    let p = COMMAND_HEADER_SIZE
    if (options.payload) {
      b.set(options.payload, p)
    } else {
      for (const a of attributes) {
        b.writeUInt16LE(a.type, p)
        p += 2
        if (!a.noLength) {
          b.writeUInt16LE(a.length ?? a.value.length, p)
          p += 2
        }
        b.set(a.value, p)
        p += a.value.length
      }
    }
    b.writeUInt32LE(options.crc ?? crc32cUpdate(0, b, 0, b.length), 6)
    return b
  }

  /** Header plus every command, as one Buffer (a complete stream if the list ends with END). */
  stream(commands: Iterable<CommandData | Command>): Buffer {
    if (typeof (commands as Partial<Iterable<unknown>> | null)?.[Symbol.iterator] !== 'function') {
      throw new InvalidArgumentError('commands must be an iterable of commands')
    }
    const parts = [this.header()]
    for (const c of commands) parts.push(this.encode(c))
    return Buffer.concat(parts)
  }
}

const isU16 = (n: unknown): boolean => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 0xffff
const isU32 = (n: unknown): boolean => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= MAX_U32

/** raw() writes whatever it is told, but only what fits the fields it is told to write. */
function checkRaw(cmd: unknown, attributes: unknown, options: RawCommandOptions & { payload?: unknown }): void {
  if (!isU16(cmd)) throw new InvalidArgumentError(`cmd must be an integer in 0..65535, got ${String(cmd)}`)
  if (options.payload !== undefined && !(options.payload instanceof Uint8Array)) throw new InvalidArgumentError('options.payload must be a Uint8Array')
  for (const key of ['crc', 'len'] as const) {
    if (options[key] !== undefined && !isU32(options[key])) throw new InvalidArgumentError(`options.${key} must be a u32, got ${String(options[key])}`)
  }
  if (!Array.isArray(attributes)) throw new InvalidArgumentError('attributes must be an array')
  for (const a of attributes as unknown[]) {
    const attr = a as Partial<RawAttribute> | null
    if (typeof attr !== 'object' || attr === null || !isU16(attr.type) || !(attr.value instanceof Uint8Array) ||
      (attr.length !== undefined && !isU16(attr.length))) {
      throw new InvalidArgumentError('each attribute must be { type: u16, value: Uint8Array, length?: u16, noLength?: boolean }')
    }
    if (!attr.noLength && attr.length === undefined && attr.value.length > 0xffff) {
      throw new InvalidArgumentError(`attribute ${attr.type} value of ${attr.value.length} bytes does not fit its u16 length (set length or noLength)`)
    }
  }
}

function u64Bytes(value: unknown, field: string, cmd: number, type: string): Buffer {
  let v: bigint
  if (typeof value === 'bigint') v = value
  else if (typeof value === 'number' && Number.isSafeInteger(value)) v = BigInt(value)
  else throw invalid(`${field} must be an integer, got ${String(value)}`, cmd, type)
  if (v < 0n || v > 0xffffffffffffffffn) throw invalid(`${field} ${v} does not fit a u64`, cmd, type)
  const b = Buffer.allocUnsafe(8)
  b.writeBigUInt64LE(v)
  return b
}

function uintBytes(value: unknown, size: 1 | 4, field: string, cmd: number, type: string): Buffer {
  const max = size === 1 ? 0xff : MAX_U32
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw invalid(`${field} must be an integer in 0..${max}, got ${String(value)}`, cmd, type)
  }
  const b = Buffer.allocUnsafe(size)
  if (size === 1) b[0] = value
  else b.writeUInt32LE(value)
  return b
}

function encodeValue(kind: string, value: unknown, field: string, cmd: number, type: string): Uint8Array {
  switch (kind) {
    case 'u64':
    case 'u64n':
      return u64Bytes(value, field, cmd, type)
    case 'u32':
      return uintBytes(value, 4, field, cmd, type)
    case 'u8':
      return uintBytes(value, 1, field, cmd, type)
    case 'timespec': {
      const ts = value as { sec?: unknown; nsec?: unknown }
      if (typeof ts !== 'object' || ts === null) throw invalid(`${field} must be { sec, nsec }`, cmd, type)
      const b = Buffer.allocUnsafe(TIMESPEC_SIZE)
      b.set(u64Bytes(ts.sec, `${field}.sec`, cmd, type), 0)
      b.set(uintBytes(ts.nsec, 4, `${field}.nsec`, cmd, type), 8)
      return b
    }
    case 'uuid':
      if (!(value instanceof Uint8Array) || value.length !== UUID_SIZE) throw invalid(`${field} must be 16 bytes`, cmd, type)
      return value
    default:
      if (!(value instanceof Uint8Array)) throw invalid(`${field} must be a Buffer or Uint8Array`, cmd, type)
      return value
  }
}
