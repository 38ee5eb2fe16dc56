// StreamDecoder on the golden kernel streams: chunking independence, truncation at every offset,
// flipped bytes, framing edge cases, and the facts each fixture must show (versions, streams,
// v2 DATA framing, concatenation).
import { StreamFormatError } from '../../lib/errors.js'
import { StreamDecoder, decodeAll } from '../../lib/stream/decoder.js'
import type { Command } from '../../lib/stream/commands.js'
import { FIXTURES, canonical, decodeChunked, fixture, rng, thrown, units } from './helpers.js'

describe('golden fixtures decode the same whatever the chunking', () => {
  test.each(FIXTURES.map((f) => [f.name, f.bytes] as const))('%s', (_name, bytes) => {
    const whole = canonical(decodeAll(bytes))
    expect(JSON.parse(whole).length).toBeGreaterThan(5)
    expect(canonical(decodeChunked(bytes, [1]))).toBe(whole)
    const r = rng(bytes.length)
    const sizes = Array.from({ length: 64 }, () => 1 + Math.floor(r() * (r() < 0.5 ? 40 : 70000)))
    expect(canonical(decodeChunked(bytes, sizes))).toBe(whole)
    expect(canonical(decodeChunked(bytes, [9, 10, 11, 17, 4096]))).toBe(whole)
  })
})

describe('command origin and framing facts', () => {
  test('every command reports the absolute offset of its header and its index', () => {
    for (const { bytes } of FIXTURES) {
      const cmds = decodeAll(bytes)
      const framed = units(bytes).filter((u) => u.kind === 'command')
      expect(cmds.map((c) => c.offset)).toEqual(framed.map((u) => u.start))
      expect(cmds.map((c) => c.index)).toEqual(cmds.map((_c, i) => i))
    }
  })

  test('versions come from each stream header', () => {
    for (const { name, bytes } of FIXTURES) {
      const expected = Number(/-v(\d)\.bin$/.exec(name)?.[1])
      for (const c of decodeAll(bytes)) expect(c.version).toBe(expected)
    }
  })

  test('concatenated streams (send a b): two headers, two ENDs, stream numbers 0 and 1', () => {
    const cmds = decodeAll(fixture('multi-plain-v1.bin'))
    expect(cmds.filter((c) => c.type === 'subvol').map((c) => c.stream)).toEqual([0, 1])
    expect(cmds.filter((c) => c.type === 'end').map((c) => c.stream)).toEqual([0, 1])
    expect(units(fixture('multi-plain-v1.bin')).filter((u) => u.kind === 'header')).toHaveLength(2)
  })

  test('send -e: one stream holding two SUBVOLs and one END', () => {
    const cmds = decodeAll(fixture('multi-e-v2.bin'))
    const subvols = cmds.filter((c) => c.type === 'subvol')
    expect(subvols).toHaveLength(2)
    expect(new Set(cmds.map((c) => c.stream))).toEqual(new Set([0]))
    expect(cmds.filter((c) => c.type === 'end')).toHaveLength(1)
    expect(cmds[cmds.length - 1].type).toBe('end')
  })

  test('v2 DATA has no length field; v1 DATA has one (same file, same bytes)', () => {
    const pick = (name: string): Command & { type: 'write' } => {
      const w = decodeAll(fixture(name)).find((c) => c.type === 'write' && c.path.toString() === 'small.txt')
      if (!w || w.type !== 'write') throw new Error('no write to small.txt')
      return w
    }
    const v1 = pick('full-v1.bin')
    const v2 = pick('full-v2.bin')
    expect(v1.data.toString()).toBe('hello world\n')
    expect(v2.data.equals(v1.data)).toBe(true)
    const v2bytes = fixture('full-v2.bin')
    const len2 = v2bytes.readUInt32LE(v2.offset)
    const v1bytes = fixture('full-v1.bin')
    const len1 = v1bytes.readUInt32LE(v1.offset)
    expect(len1 - len2).toBe(2)
    // v2: the last TLV header is just the 2-byte type 19 right before the 12 data bytes.
    expect(v2bytes.readUInt16LE(v2.offset + 10 + len2 - 12 - 2)).toBe(19)
    expect(v1bytes.readUInt16LE(v1.offset + 10 + len1 - 12 - 2)).toBe(12)
  })

  test('typed values: bigint ids, checked numbers, timespecs, uuids, byte names', () => {
    const cmds = decodeAll(fixture('full-v2.bin'))
    const subvol = cmds[0]
    if (subvol.type !== 'subvol') throw new Error('first command is not subvol')
    expect(subvol.path.toString()).toBe('snap1')
    expect(subvol.uuid).toHaveLength(16)
    expect(typeof subvol.ctransid).toBe('bigint')
    const mknod = cmds.find((c) => c.type === 'mknod' && c.rdev === 0x811n)
    expect(mknod).toMatchObject({ type: 'mknod', mode: 0o60644, ino: expect.any(BigInt) })
    const utimes = cmds.find((c) => c.type === 'utimes' && c.path.toString() === 'small.txt')
    expect(utimes).toMatchObject({ atime: { sec: 1700000000n, nsec: 0 }, mtime: { sec: 1700000000n, nsec: 0 } })
    expect(utimes).toHaveProperty('otime')
    const v1utimes = decodeAll(fixture('full-v1.bin')).find((c) => c.type === 'utimes')
    expect(v1utimes).not.toHaveProperty('otime')
    const latin = cmds.find((c) => c.type === 'rename' && c.pathTo.includes(0xff))
    expect(latin && latin.type === 'rename' && latin.pathTo).toEqual(Buffer.from('caf\xe9-\xff\xfe', 'latin1'))
    const chown = cmds.find((c) => c.type === 'chown' && c.path.toString() === 'small.txt')
    expect(chown).toMatchObject({ uid: 1000, gid: 100 })
  })

  test('incremental v2 carries FILEATTR, clone fixture a FALLOCATE punch-hole and a CLONE of a reflinked extent', () => {
    const inc = decodeAll(fixture('incremental-v2.bin'))
    expect(inc.find((c) => c.type === 'fileattr')).toMatchObject({ fileattr: 0x200 })
    const clone = decodeAll(fixture('clone-v2.bin'))
    const snap = clone[0]
    if (snap.type !== 'snapshot') throw new Error('first command is not snapshot')
    expect(clone.find((c) => c.type === 'fallocate')).toMatchObject({ fallocateMode: 3, fileOffset: 4096, size: 8192 })
    const c = clone.find((x) => x.type === 'clone')
    if (!c || c.type !== 'clone') throw new Error('no clone')
    // The kernel adds the send root itself as a clone source and picked it over the parent.
    expect(c.cloneUuid.equals(snap.uuid)).toBe(true)
    expect(['clone-src.bin', 'clone-dst.bin']).toContain(c.clonePath.toString())
    expect(c.path.toString()).toMatch(/^o\d+-\d+-0$|^clone-new\.bin$/)
  })

  test('compressed v2: ENCODED_WRITE, with ENCRYPTION absent on the inline extent', () => {
    const enc = decodeAll(fixture('compressed-v2.bin')).filter((c) => c.type === 'encoded_write')
    expect(enc).toHaveLength(3)
    for (const e of enc) expect(e).toMatchObject({ compression: 2 })
    const inline = enc.find((e) => e.type === 'encoded_write' && e.path.toString() === 'inline.txt')
    expect(inline).toMatchObject({ unencodedLen: 3000 })
    expect(inline).not.toHaveProperty('encryption')
  })
})

/** What end-of-input at `cut` must produce, from the independent framing walk. */
function expectedAtCut(bytes: Buffer, cut: number): { code?: string; offset?: number } {
  if (cut === 0) return { code: 'BTRFS_STREAM_EMPTY', offset: 0 }
  const us = units(bytes)
  const inside = us.find((u) => u.start < cut && cut < u.end)
  if (inside) return { code: 'BTRFS_STREAM_TRUNCATED', offset: inside.start }
  const before = us.filter((u) => u.end === cut).pop()
  if (before && before.kind === 'command' && before.cmd === 21) return {}
  return { code: 'BTRFS_STREAM_TRUNCATED', offset: cut }
}

function checkCut(bytes: Buffer, cut: number, chunk?: number): void {
  const want = expectedAtCut(bytes, cut)
  const run = (): unknown => (chunk ? decodeChunked(bytes.subarray(0, cut), [chunk]) : decodeAll(bytes.subarray(0, cut)))
  if (!want.code) {
    expect(run).not.toThrow()
    return
  }
  const err = thrown(run)
  expect(err).toBeInstanceOf(StreamFormatError)
  expect({ cut, code: err.code, offset: err.offset }).toEqual({ cut, code: want.code, offset: want.offset })
}

describe('truncation', () => {
  const small = FIXTURES.filter((f) => f.bytes.length < 12000)
  test.each(small.map((f) => [f.name, f.bytes] as const))('%s: every cut offset gives the coded error at the broken unit', (_n, bytes) => {
    for (let cut = 0; cut <= bytes.length; cut++) checkCut(bytes, cut)
  })

  test.each(FIXTURES.map((f) => [f.name, f.bytes] as const))('%s: cuts around every unit boundary, whole and in 4093-byte chunks', (_n, bytes) => {
    for (const u of units(bytes)) {
      for (const d of [-1, 0, 1, 5, 9, 10, 11]) {
        const cut = u.start + d
        if (cut < 0 || cut > bytes.length) continue
        checkCut(bytes, cut)
        checkCut(bytes, cut, 4093)
      }
    }
    checkCut(bytes, bytes.length)
  })

  test('empty input is BTRFS_STREAM_EMPTY; empty chunks do not count as input', () => {
    const d = new StreamDecoder()
    expect(d.push(new Uint8Array(0))).toEqual([])
    expect(thrown(() => d.end()).code).toBe('BTRFS_STREAM_EMPTY')
  })

  test('a lone header is truncated before END', () => {
    const err = thrown(() => decodeAll(fixture('full-v1.bin').subarray(0, 17)))
    expect(err.code).toBe('BTRFS_STREAM_TRUNCATED')
    expect(err.offset).toBe(17)
    expect(err.commandIndex).toBe(0)
  })

  test('the decoder stays failed after an error', () => {
    const d = new StreamDecoder()
    const bad = Buffer.from(fixture('full-v1.bin'))
    bad[0] ^= 1
    const first = thrown(() => d.push(bad))
    expect(thrown(() => d.push(fixture('full-v1.bin')))).toBe(first)
    expect(thrown(() => d.end())).toBe(first)
  })
})

describe('corruption', () => {
  test.each(['multi-e-v2.bin', 'clone-v2.bin', 'compressed-v2.bin'])('%s: any flipped byte after len is a CRC error at that command', (name) => {
    const bytes = fixture(name)
    for (const u of units(bytes).filter((x) => x.kind === 'command')) {
      for (let p = u.start + 4; p < u.end; p++) {
        const bad = Buffer.from(bytes)
        bad[p] ^= 0x10
        const err = thrown(() => decodeAll(bad))
        expect({ p, code: err.code, offset: err.offset }).toEqual({ p, code: 'BTRFS_STREAM_BAD_CRC', offset: u.start })
        expect(err.commandIndex).toBeGreaterThanOrEqual(0)
        expect(err.commandType).toBe(bad.readUInt16LE(u.start + 4))
      }
    }
  })

  test('a flipped len byte is always a coded error, never a crash', () => {
    const bytes = fixture('incremental-v2.bin')
    for (const u of units(bytes).filter((x) => x.kind === 'command')) {
      for (let p = u.start; p < u.start + 4; p++) {
        const bad = Buffer.from(bytes)
        bad[p] ^= 0x01
        const err = thrown(() => decodeAll(bad))
        expect(err).toBeInstanceOf(StreamFormatError)
        expect(['BTRFS_STREAM_BAD_CRC', 'BTRFS_STREAM_TOO_LARGE', 'BTRFS_STREAM_TRUNCATED']).toContain(err.code)
      }
    }
  })

  test('verifyCrc: false accepts a command whose CRC field is wrong', () => {
    const bad = Buffer.from(fixture('multi-e-v2.bin'))
    bad[17 + 6] ^= 0xff
    expect(thrown(() => decodeAll(bad)).code).toBe('BTRFS_STREAM_BAD_CRC')
    expect(canonical(decodeAll(bad, { verifyCrc: false }))).toBe(canonical(decodeAll(fixture('multi-e-v2.bin'))))
  })

  test('bad magic, unsupported versions, and garbage after END', () => {
    const v = Buffer.from(fixture('multi-e-v2.bin'))
    const magic = Buffer.from(v)
    magic[3] = 0x78
    expect(thrown(() => decodeAll(magic))).toMatchObject({ code: 'BTRFS_STREAM_BAD_MAGIC', offset: 0 })
    for (const version of [0, 4, 0xffffffff]) {
      const b = Buffer.from(v)
      b.writeUInt32LE(version, 13)
      expect(thrown(() => decodeAll(b))).toMatchObject({ code: 'BTRFS_STREAM_UNSUPPORTED_VERSION', offset: 0 })
    }
    const trailing = Buffer.concat([v, Buffer.from('garbage that is no header')])
    expect(thrown(() => decodeAll(trailing))).toMatchObject({ code: 'BTRFS_STREAM_BAD_MAGIC', offset: v.length })
    const partialTrailing = Buffer.concat([v, Buffer.from('btrfs')])
    expect(thrown(() => decodeAll(partialTrailing))).toMatchObject({ code: 'BTRFS_STREAM_TRUNCATED', offset: v.length })
  })
})

describe('buffers and views', () => {
  test('input with a non-zero byteOffset inside a larger ArrayBuffer decodes correctly', () => {
    const bytes = fixture('clone-v2.bin')
    const big = new Uint8Array(bytes.length + 1000)
    big.set(bytes, 333)
    const view = new Uint8Array(big.buffer, 333, bytes.length)
    expect(canonical(decodeAll(view))).toBe(canonical(decodeAll(bytes)))
    expect(canonical(decodeChunked(view, [3, 50]))).toBe(canonical(decodeAll(bytes)))
  })

  test('byte fields are views by default and copies with copy: true', () => {
    const bytes = Buffer.from(fixture('multi-e-v2.bin'))
    const views = decodeAll(bytes)
    const copies = decodeAll(bytes, { copy: true })
    const v = views[0]
    const c = copies[0]
    if (v.type !== 'subvol' || c.type !== 'subvol') throw new Error('not subvol')
    const before = c.path.toString()
    bytes.fill(0x41)
    expect(v.path.toString()).not.toBe(before)
    expect(c.path.toString()).toBe(before)
  })

  test('a command split across chunks is buffered once, exactly its size', () => {
    const bytes = fixture('full-v2.bin')
    const big = units(bytes).filter((u) => u.kind === 'command').sort((a, b) => b.end - b.start - (a.end - a.start))[0]
    const d = new StreamDecoder()
    d.push(bytes.subarray(0, big.start + 100))
    const rest = d.push(bytes.subarray(big.start + 100))
    const cmd = rest[0]
    expect(cmd.offset).toBe(big.start)
    if (cmd.type !== 'write') throw new Error('largest command is not a write')
    expect(cmd.data.buffer.byteLength).toBe(big.end - big.start)
  })
})
