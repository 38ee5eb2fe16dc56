// StreamEncoder: kernel streams re-encode byte for byte, every command of every version
// round-trips through the decoder (property-based), and invalid commands are refused with a code.
import fc from 'fast-check'
import { ATTRIBUTES, COMMANDS, type AttributeField, type CommandData, type CommandType } from '../../lib/stream/commands.js'
import { decodeAll } from '../../lib/stream/decoder.js'
import { StreamEncoder } from '../../lib/stream/encoder.js'
import type { StreamVersion } from '../../lib/stream/constants.js'
import { FIXTURES, canonical, thrown } from './helpers.js'

const buf = (a: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Buffer> => a.map((u) => Buffer.from(u))

function valueArb(field: AttributeField): fc.Arbitrary<unknown> {
  switch (ATTRIBUTES[field].kind) {
    case 'u64': return fc.maxSafeNat()
    case 'u64n': return fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })
    case 'u32': return fc.integer({ min: 0, max: 0xffffffff })
    case 'u8': return fc.integer({ min: 0, max: 255 })
    case 'uuid': return buf(fc.uint8Array({ minLength: 16, maxLength: 16 }))
    case 'timespec': return fc.record({ sec: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), nsec: fc.integer({ min: 0, max: 0xffffffff }) })
    case 'bytes': return buf(fc.uint8Array({ maxLength: 300 }))
    case 'data': return buf(fc.uint8Array({ maxLength: 3000 }))
  }
}

function commandArb(type: CommandType): fc.Arbitrary<CommandData> {
  const schema = COMMANDS[type]
  const optional = schema.optional as readonly string[]
  const parts: Record<string, fc.Arbitrary<unknown>> = {}
  for (const field of schema.fields as readonly AttributeField[]) {
    parts[field] = optional.includes(field) ? fc.option(valueArb(field), { nil: undefined }) : valueArb(field)
  }
  return fc.record(parts).map((r) => {
    const cmd: Record<string, unknown> = { type }
    for (const [k, v] of Object.entries(r)) if (v !== undefined) cmd[k] = v
    return cmd as unknown as CommandData
  })
}

function typesFor(version: StreamVersion): CommandType[] {
  return (Object.keys(COMMANDS) as CommandType[]).filter((t) => COMMANDS[t].since <= version && t !== 'end')
}

const strip = (cmds: readonly object[]): object[] =>
  cmds.map((c) => {
    const { offset: _o, index: _i, stream: _s, version: _v, ...rest } = c as Record<string, unknown>
    return rest
  })

describe('re-encoding kernel streams', () => {
  test.each(FIXTURES.map((f) => [f.name, f.bytes] as const))('%s is reproduced byte for byte', (_n, bytes) => {
    const cmds = decodeAll(bytes)
    const parts: Buffer[] = []
    let stream = -1
    for (const c of cmds) {
      const enc = new StreamEncoder({ version: c.version })
      if (c.stream !== stream) {
        stream = c.stream
        parts.push(enc.header())
      }
      parts.push(enc.encode(c))
    }
    expect(Buffer.concat(parts).equals(bytes)).toBe(true)
  })
})

describe('encode → decode round-trips every command', () => {
  test.each([1, 2, 3] as const)('protocol v%d', (version) => {
    const types = typesFor(version)
    expect(types.length).toBe({ 1: 21, 2: 24, 3: 25 }[version])
    const enc = new StreamEncoder({ version })
    fc.assert(
      fc.property(fc.array(fc.oneof(...types.map(commandArb)), { minLength: 1, maxLength: 12 }), (cmds) => {
        const all: CommandData[] = [...cmds, { type: 'end' }]
        const decoded = decodeAll(enc.stream(all))
        expect(canonical(strip(decoded) as never)).toBe(canonical(all as never))
        for (const d of decoded) expect(d.version).toBe(version)
      }),
      { numRuns: 150 },
    )
  })

  test('every command type is covered by exactly one schema entry per number', () => {
    const numbers = Object.values(COMMANDS).map((s) => s.cmd)
    expect(new Set(numbers).size).toBe(26)
    expect(Math.min(...numbers)).toBe(1)
    expect(Math.max(...numbers)).toBe(26)
    const attrs = Object.values(ATTRIBUTES).map((a) => a.attr)
    expect(new Set(attrs).size).toBe(35)
  })

  test('v1 DATA larger than a TLV is refused; v2 DATA of any size is written without a length', () => {
    const data = Buffer.alloc(70000, 7)
    const write: CommandData = { type: 'write', path: Buffer.from('f'), fileOffset: 0, data }
    expect(thrown(() => new StreamEncoder({ version: 1 }).encode(write)).code).toBe('BTRFS_STREAM_INVALID_COMMAND')
    const bytes = new StreamEncoder({ version: 2 }).stream([write, { type: 'end' }])
    const [w] = decodeAll(bytes)
    expect(w.type === 'write' && w.data.equals(data)).toBe(true)
  })

  test('unknown commands pass through raw with allowUnknownCommands', () => {
    const enc = new StreamEncoder({ version: 1 })
    const bytes = enc.stream([{ type: 'unknown', cmd: 99, payload: Buffer.from([1, 0, 1, 0, 3]) }, { type: 'end' }])
    const [u] = decodeAll(bytes, { allowUnknownCommands: true })
    expect(u).toMatchObject({ type: 'unknown', cmd: 99, offset: 17 })
    expect(u.type === 'unknown' && [...u.payload]).toEqual([1, 0, 1, 0, 3])
  })
})

describe('the encoder refuses what it cannot write', () => {
  const enc = new StreamEncoder({ version: 1 })
  const p = Buffer.from('f')
  test.each<[string, unknown]>([
    ['a missing required field', { type: 'chown', path: p, uid: 1 }],
    ['a negative number', { type: 'truncate', path: p, size: -1 }],
    ['a fraction', { type: 'truncate', path: p, size: 1.5 }],
    ['an unsafe number', { type: 'truncate', path: p, size: 2 ** 60 }],
    ['a bigint above u64', { type: 'mkfile', path: p, ino: 1n << 64n }],
    ['a 15-byte uuid', { type: 'subvol', path: p, uuid: Buffer.alloc(15), ctransid: 1n }],
    ['a string path', { type: 'unlink', path: 'f' }],
    ['a name longer than a TLV', { type: 'unlink', path: Buffer.alloc(65536) }],
    ['a v2 command in a v1 stream', { type: 'fallocate', path: p, fallocateMode: 3, fileOffset: 0, size: 1 }],
    ['an unknown type', { type: 'nope' }],
  ])('%s', (_what, cmd) => {
    const err = thrown(() => enc.encode(cmd as CommandData))
    expect(err.code).toBe('BTRFS_STREAM_INVALID_COMMAND')
  })

  test('u32 and u8 ranges', () => {
    const v3 = new StreamEncoder({ version: 3 })
    const base = { type: 'enable_verity', path: p, verityBlockSize: 4096, veritySaltData: Buffer.alloc(0), veritySigData: Buffer.alloc(0) }
    expect(thrown(() => v3.encode({ ...base, verityAlgorithm: 256 } as CommandData)).code).toBe('BTRFS_STREAM_INVALID_COMMAND')
    expect(() => v3.encode({ ...base, verityAlgorithm: 255 } as CommandData)).not.toThrow()
    expect(thrown(() => v3.encode({ ...base, verityAlgorithm: 1, verityBlockSize: 2 ** 32 } as CommandData)).code).toBe(
      'BTRFS_STREAM_INVALID_COMMAND',
    )
  })

  test('invalid versions', () => {
    expect(() => new StreamEncoder({ version: 4 as StreamVersion })).toThrow(expect.objectContaining({ code: 'BTRFS_INVALID_ARGUMENT' }))
  })
})
