// Hostile and malformed input built with the encoder: every framing and attribute rule gives its
// own code, length caps act before buffering, unknown attributes warn, and random or mutated
// bytes only ever produce StreamFormatError, never a crash or a hang.
import fc from 'fast-check'
import { StreamFormatError, WARNING_CODES } from '../../lib/errors.js'
import { StreamDecoder, decodeAll, type StreamWarning } from '../../lib/stream/decoder.js'
import { StreamEncoder, type RawAttribute } from '../../lib/stream/encoder.js'
import { ATTR, ATTR_MAX, CMD, DEFAULT_MAX_COMMAND_LENGTH } from '../../lib/stream/constants.js'
import { decodeChunked, fixture, thrown } from './helpers.js'

const v1 = new StreamEncoder({ version: 1 })
const v2 = new StreamEncoder({ version: 2 })
const END = v1.encode({ type: 'end' })
const u64 = (n: number | bigint): Buffer => {
  const b = Buffer.alloc(8)
  b.writeBigUInt64LE(BigInt(n))
  return b
}
const s = (text: string): Buffer => Buffer.from(text, 'latin1')
const attr = (type: number, value: Uint8Array, extra: Partial<RawAttribute> = {}): RawAttribute => ({ type, value, ...extra })
/** A v1 (or given) stream of header + the raw commands + END. */
const stream = (cmds: Buffer[], enc = v1): Buffer => Buffer.concat([enc.header(), ...cmds, END])

describe('length cap before buffering', () => {
  test('oversized-command: a 4 GiB len is refused as soon as its 10-byte header arrives', () => {
    const d = new StreamDecoder()
    d.push(v1.header())
    const header = v1.raw(CMD.WRITE, [], { len: 0xffffffff }).subarray(0, 10)
    const err = thrown(() => d.push(header))
    expect(err).toBeInstanceOf(StreamFormatError)
    expect(err).toMatchObject({ code: 'BTRFS_STREAM_TOO_LARGE', offset: 17, commandIndex: 0, commandType: CMD.WRITE })
  })

  test('the header may itself straddle chunks: still refused before any body byte', () => {
    const header = v1.raw(CMD.WRITE, [], { len: DEFAULT_MAX_COMMAND_LENGTH + 1 }).subarray(0, 10)
    const d = new StreamDecoder()
    d.push(v1.header())
    for (let i = 0; i < 9; i++) expect(d.push(header.subarray(i, i + 1))).toEqual([])
    expect(thrown(() => d.push(header.subarray(9))).code).toBe('BTRFS_STREAM_TOO_LARGE')
  })

  test('DEFAULT_MAX_COMMAND_LENGTH admits the largest kernel command (64 KiB pages: 196598)', () => {
    const data = Buffer.alloc(196598 - 2 - 4 - 1 - 4 - 8, 1)
    const big = v2.encode({ type: 'write', path: s('f'), fileOffset: 0, data })
    expect(big.length).toBe(196608)
    expect(() => decodeAll(stream([big], v2))).not.toThrow()
  })

  test('maxCommandLength is an option', () => {
    const err = thrown(() => decodeAll(fixture('full-v2.bin'), { maxCommandLength: 1000 }))
    expect(err).toMatchObject({ code: 'BTRFS_STREAM_TOO_LARGE', commandName: 'write' })
    expect(() => new StreamDecoder({ maxCommandLength: -1 })).toThrow(expect.objectContaining({ code: 'BTRFS_INVALID_ARGUMENT' }))
  })
})

describe('attribute rules', () => {
  test('duplicate attributes', () => {
    const cmd = v1.raw(CMD.UNLINK, [attr(ATTR.PATH, s('a')), attr(ATTR.PATH, s('b'))])
    expect(thrown(() => decodeAll(stream([cmd])))).toMatchObject({
      code: 'BTRFS_STREAM_DUPLICATE_ATTRIBUTE', offset: 17, commandIndex: 0, commandType: CMD.UNLINK, attribute: ATTR.PATH,
    })
  })

  test('missing required attributes name the attribute', () => {
    const cmd = v1.raw(CMD.CHOWN, [attr(ATTR.PATH, s('a')), attr(ATTR.UID, u64(1))])
    expect(thrown(() => decodeAll(stream([cmd])))).toMatchObject({ code: 'BTRFS_STREAM_MISSING_ATTRIBUTE', attribute: ATTR.GID })
  })

  test('exact sizes for integers, uuids and timespecs', () => {
    const cases: Buffer[] = [
      v1.raw(CMD.TRUNCATE, [attr(ATTR.PATH, s('a')), attr(ATTR.SIZE, Buffer.alloc(7))]),
      v1.raw(CMD.SUBVOL, [attr(ATTR.PATH, s('a')), attr(ATTR.UUID, Buffer.alloc(15)), attr(ATTR.CTRANSID, u64(1))]),
      v1.raw(CMD.UTIMES, [attr(ATTR.PATH, s('a')), attr(ATTR.ATIME, Buffer.alloc(16)), attr(ATTR.MTIME, Buffer.alloc(12)), attr(ATTR.CTIME, Buffer.alloc(12))]),
      v2.raw(CMD.FALLOCATE, [attr(ATTR.PATH, s('a')), attr(ATTR.FALLOCATE_MODE, u64(3)), attr(ATTR.FILE_OFFSET, u64(0)), attr(ATTR.SIZE, u64(1))]),
    ]
    for (const [i, cmd] of cases.entries()) {
      const err = thrown(() => decodeAll(stream([cmd], i === 3 ? v2 : v1)))
      expect(err.code).toBe('BTRFS_STREAM_BAD_ATTRIBUTE')
      expect(err.message).toMatch(/invalid size for attribute/)
    }
  })

  test('numbers above MAX_SAFE_INTEGER are refused; bigint ids are not', () => {
    const big = v1.raw(CMD.TRUNCATE, [attr(ATTR.PATH, s('a')), attr(ATTR.SIZE, u64(2n ** 53n))])
    expect(thrown(() => decodeAll(stream([big])))).toMatchObject({ code: 'BTRFS_STREAM_BAD_ATTRIBUTE', attribute: ATTR.SIZE })
    const safe = v1.raw(CMD.TRUNCATE, [attr(ATTR.PATH, s('a')), attr(ATTR.SIZE, u64(2n ** 53n - 1n))])
    expect(decodeAll(stream([safe]))[0]).toMatchObject({ size: Number.MAX_SAFE_INTEGER })
    const ino = v1.raw(CMD.MKFILE, [attr(ATTR.PATH, s('a')), attr(ATTR.INO, u64(2n ** 64n - 1n))])
    expect(decodeAll(stream([ino]))[0]).toMatchObject({ ino: 2n ** 64n - 1n })
  })

  test('attribute type 0, overrunning lengths and cut TLV headers', () => {
    const zero = v1.raw(CMD.UNLINK, [attr(0, s('x')), attr(ATTR.PATH, s('a'))])
    const overrun = v1.raw(CMD.UNLINK, [attr(ATTR.PATH, s('abc'), { length: 50 })])
    const cutHeader = v1.raw(CMD.UNLINK, [attr(ATTR.PATH, s('a')), attr(7, new Uint8Array(0), { noLength: true })])
    const oneByteLeft = v1.raw(CMD.UNLINK, [], { payload: Buffer.from([ATTR.PATH, 0, 1, 0, 0x61, 0x0f]) })
    expect(thrown(() => decodeAll(stream([zero])))).toMatchObject({ code: 'BTRFS_STREAM_UNKNOWN_ATTRIBUTE', offset: 17, commandType: CMD.UNLINK, attribute: 0 })
    for (const cmd of [overrun, cutHeader, oneByteLeft]) {
      const err = thrown(() => decodeAll(stream([cmd])))
      expect(err).toMatchObject({ code: 'BTRFS_STREAM_BAD_ATTRIBUTE', offset: 17, commandType: CMD.UNLINK })
    }
  })

  test('attributes of a later version or not taken by the command are skipped with a registered warning', () => {
    const warnings: StreamWarning[] = []
    const cmd = v1.raw(CMD.MKFILE, [
      attr(ATTR.PATH, s('a')),
      attr(ATTR.INO, u64(257)),
      attr(ATTR.SIZE, u64(4)),
      attr(ATTR.VERITY_ALGORITHM, Buffer.from([1])),
    ])
    const [c] = decodeAll(stream([cmd]), { onWarning: (w) => warnings.push(w) })
    expect(c).toMatchObject({ type: 'mkfile', ino: 257n })
    expect(c).not.toHaveProperty('size')
    expect(warnings.map((w) => [w.code, w.attribute, w.offset, w.commandName])).toEqual([
      ['BTRFS_STREAM_UNEXPECTED_ATTRIBUTE', ATTR.SIZE, 17, 'mkfile'],
      ['BTRFS_STREAM_ATTRIBUTE_NOT_IN_VERSION', ATTR.VERITY_ALGORITHM, 17, 'mkfile'],
    ])
    for (const w of warnings) expect(Object.keys(WARNING_CODES)).toContain(w.code)
  })

  test('an attribute number no version defines is an error, also inside an unknown command (as btrfs-progs)', () => {
    for (const t of [ATTR_MAX[3] + 1, 816, 0xffff]) {
      const known = v1.raw(CMD.MKFILE, [attr(ATTR.PATH, s('a')), attr(t, s('synology')), attr(ATTR.INO, u64(257))])
      expect(thrown(() => decodeAll(stream([known])))).toMatchObject({ code: 'BTRFS_STREAM_UNKNOWN_ATTRIBUTE', attribute: t, commandName: 'mkfile' })
      const unknown = v1.raw(99, [attr(t, s('x'))])
      expect(thrown(() => decodeAll(stream([unknown]), { allowUnknownCommands: true }))).toMatchObject({ code: 'BTRFS_STREAM_UNKNOWN_ATTRIBUTE', attribute: t })
    }
  })

  test('v2: DATA swallows everything after it, so attributes placed after it are lost', () => {
    const cmd = v2.raw(CMD.WRITE, [
      attr(ATTR.FILE_OFFSET, u64(0)),
      attr(ATTR.DATA, s('xy'), { noLength: true }),
      attr(ATTR.PATH, s('a')),
    ])
    expect(thrown(() => decodeAll(stream([cmd], v2)))).toMatchObject({ code: 'BTRFS_STREAM_MISSING_ATTRIBUTE', attribute: ATTR.PATH })
    const v1style = v2.raw(CMD.WRITE, [attr(ATTR.PATH, s('a')), attr(ATTR.FILE_OFFSET, u64(0)), attr(ATTR.DATA, s('xy'))])
    const [w] = decodeAll(stream([v1style], v2))
    // The 2-byte length field becomes part of the data in v2.
    expect(w.type === 'write' && [...w.data]).toEqual([2, 0, 0x78, 0x79])
  })

  test('paths are bytes: the decoder passes .., absolute paths, NUL and non-UTF-8 through untouched', () => {
    const names = ['../escape', '/abs/target', 'a\0b', '\xff\xfe', '']
    const cmds = names.map((n) => v1.encode({ type: 'symlink', path: s(n), ino: 300n, pathLink: s(n) }))
    const out = decodeAll(stream(cmds))
    expect(out.slice(0, names.length).map((c) => c.type === 'symlink' && c.path.toString('latin1'))).toEqual(names)
  })
})

describe('commands', () => {
  test('unknown numbers are errors unless allowUnknownCommands', () => {
    for (const n of [0, 27, 99, 0xffff]) {
      const cmd = v1.raw(n, [attr(ATTR.PATH, s('a'))])
      expect(thrown(() => decodeAll(stream([cmd])))).toMatchObject({ code: 'BTRFS_STREAM_UNKNOWN_COMMAND', offset: 17, commandType: n })
      const [u] = decodeAll(stream([cmd]), { allowUnknownCommands: true })
      expect(u).toMatchObject({ type: 'unknown', cmd: n })
    }
  })

  test('a v2 command in a v1 stream is unknown to that version', () => {
    const fallocate = v2.encode({ type: 'fallocate', path: s('a'), fallocateMode: 3, fileOffset: 0, size: 1 })
    expect(thrown(() => decodeAll(stream([fallocate], v1)))).toMatchObject({ code: 'BTRFS_STREAM_UNKNOWN_COMMAND', commandType: CMD.FALLOCATE })
    expect(decodeAll(stream([fallocate], v2))[0].type).toBe('fallocate')
  })

  test('bad-crc: a correct frame with a wrong CRC is refused', () => {
    const cmd = v1.raw(CMD.UNLINK, [attr(ATTR.PATH, s('a'))], { crc: 0x12345678 })
    expect(thrown(() => decodeAll(stream([cmd])))).toMatchObject({ code: 'BTRFS_STREAM_BAD_CRC', commandName: 'unlink' })
  })
})

describe('random input never crashes or hangs', () => {
  const onlyFormatErrors = (run: () => unknown): void => {
    try {
      run()
    } catch (err) {
      if (!(err instanceof StreamFormatError)) throw err
    }
  }

  test('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4000 }), fc.integer({ min: 1, max: 600 }), (bytes, chunk) => {
        onlyFormatErrors(() => decodeAll(bytes))
        onlyFormatErrors(() => decodeChunked(bytes, [chunk]))
      }),
      { numRuns: 500 },
    )
  })

  test('random bytes after a valid header, CRC checking off', () => {
    fc.assert(
      fc.property(fc.constantFrom(1, 2, 3), fc.uint8Array({ maxLength: 4000 }), (version, bytes) => {
        const enc = new StreamEncoder({ version: version as 1 | 2 | 3 })
        const input = Buffer.concat([enc.header(), bytes])
        onlyFormatErrors(() => decodeAll(input, { verifyCrc: false, allowUnknownCommands: version === 3 }))
      }),
      { numRuns: 500 },
    )
  })

  test('kernel streams with random bytes overwritten, CRC checking off', () => {
    const base = fixture('incremental-v2.bin')
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.nat({ max: base.length - 1 }), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 5000 }),
        (edits, chunk) => {
          const bad = Buffer.from(base)
          for (const e of edits) bad[e.at] = e.value
          onlyFormatErrors(() => decodeChunked(bad, [chunk], { verifyCrc: false }))
          onlyFormatErrors(() => decodeAll(bad))
        },
      ),
      { numRuns: 500 },
    )
  })
})
