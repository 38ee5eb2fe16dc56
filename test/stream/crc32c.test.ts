// CRC32C: the btrfs variant (seed 0, no final XOR) against the published vectors and the worked
// examples of the format (CHMOD, END), and the native SSE4.2 path against the pure TypeScript one.
import path from 'node:path'
import fc from 'fast-check'
import { crc32c, crc32cCommandFrame, crc32cFramesChecker, crc32cIsNative, crc32cUpdate, crc32cUpdateJs, NATIVE_CRC_THRESHOLD } from '../../lib/stream/crc32c.js'
import '../../lib/stream/crc32c-native.js'
import { native } from '../../lib/native.js'
import { fixture, units } from './helpers.js'

const ascii = (s: string): Buffer => Buffer.from(s, 'latin1')

describe('crc32c', () => {
  test('"123456789": btrfs variant 0x58E3FA20, standard CRC-32C 0xE3069283', () => {
    expect(crc32cUpdateJs(0, ascii('123456789'))).toBe(0x58e3fa20)
    expect((crc32cUpdateJs(0xffffffff, ascii('123456789')) ^ 0xffffffff) >>> 0).toBe(0xe3069283)
    expect(crc32c(ascii('123456789'))).toBe(0x58e3fa20)
  })

  test('worked CHMOD example: crc field zeroed, 26 bytes, 0x35755559', () => {
    const cmd = Buffer.from('10000000' + '1200' + '59557535' + '0f000000' + '05000800ed01000000000000', 'hex')
    expect(cmd.readUInt32LE(6)).toBe(0x35755559)
    const zeroed = Buffer.from(cmd)
    zeroed.writeUInt32LE(0, 6)
    expect(crc32c(zeroed)).toBe(0x35755559)
  })

  test('END is 00 00 00 00 15 00 with crc 0x9dc96c50', () => {
    expect(crc32c(Buffer.from('00000000150000000000', 'hex'))).toBe(0x9dc96c50)
  })

  test('updates compose: crc of a+b equals crc(crc(a), b), in any split', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(), (bytes, k) => {
        const cut = bytes.length === 0 ? 0 : k % bytes.length
        const whole = crc32cUpdateJs(0, bytes)
        expect(crc32cUpdateJs(crc32cUpdateJs(0, bytes, 0, cut), bytes, cut, bytes.length)).toBe(whole)
        expect(crc32cUpdate(crc32cUpdate(0, bytes, 0, cut), bytes, cut)).toBe(whole)
      }),
    )
  })

  test('the JS table matches a bitwise reference', () => {
    const bitwise = (bytes: Uint8Array): number => {
      let c = 0
      for (const b of bytes) {
        c ^= b
        for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1
      }
      return c >>> 0
    }
    fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => expect(crc32cUpdateJs(0, bytes)).toBe(bitwise(bytes))))
  })
})

describe('without the addon', () => {
  test.each([
    ['BTRFS_STREAM_NATIVE', '/nonexistent/btrfs_stream.node'],
    ['BTRFS_STREAM_PURE_CRC', '1'],
  ])('%s=%s: the decoder checks every CRC in TypeScript', (name, value) => {
    process.env[name] = value
    try {
      jest.isolateModules(() => {
        /* eslint-disable @typescript-eslint/no-require-imports */
        const crc = require('../../lib/stream/crc32c.js') as typeof import('../../lib/stream/crc32c.js')
        require('../../lib/stream/crc32c-native.js')
        const dec = require('../../lib/stream/decoder.js') as typeof import('../../lib/stream/decoder.js')
        const nat = require('../../lib/native.js') as typeof import('../../lib/native.js')
        if (name === 'BTRFS_STREAM_NATIVE') expect(() => nat.native()).toThrow(expect.objectContaining({ code: 'BTRFS_ADDON_UNAVAILABLE' }))
        expect(crc.crc32cIsNative()).toBe(false)
        expect(crc.crc32cFramesChecker()).toBeNull()
        const bytes = fixture('full-v2.bin')
        expect(dec.decodeAll(bytes)).toHaveLength(102)
        const bad = Buffer.from(bytes)
        bad[bytes.length - 500] ^= 1
        expect(() => dec.decodeAll(bad)).toThrow(expect.objectContaining({ code: 'BTRFS_STREAM_BAD_CRC' }))
      })
    } finally {
      delete process.env[name]
    }
  })
})

describe('native crc32c (addon built on this machine and in CI)', () => {
  test('is loaded and used above the threshold', () => {
    expect(typeof native().crc32c).toBe('function')
    expect(crc32cIsNative()).toBe(true)
  })

  test('gives exactly what the TypeScript one gives, for any bytes, seed and range', () => {
    const addon = native()
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), fc.nat(), fc.nat(), fc.integer({ min: 0, max: 0xffffffff }), (bytes, a, b, seed) => {
        const start = bytes.length ? a % (bytes.length + 1) : 0
        const end = start + (bytes.length - start ? b % (bytes.length - start + 1) : 0)
        expect(addon.crc32c(seed, bytes, start, end)).toBe(crc32cUpdateJs(seed, bytes, start, end))
      }),
      { numRuns: 500 },
    )
    const big = new Uint8Array(1 << 20).map((_v, i) => (i * 2654435761) >>> 24)
    expect(addon.crc32c(0, big, 0, big.length)).toBe(crc32cUpdateJs(0, big))
    expect(crc32cUpdate(0, big.subarray(0, NATIVE_CRC_THRESHOLD))).toBe(crc32cUpdateJs(0, big, 0, NATIVE_CRC_THRESHOLD))
  })

  test('three interleaved chains: lengths around every stripe boundary, any alignment', () => {
    const addon = native()
    const big = new Uint8Array(40000).map((_v, i) => (i * 40503 + 7) >>> 3)
    for (const start of [0, 1, 3, 7]) {
      for (let len = 3072 - 20; len < 3072 * 4 + 20; len += 1) {
        if (len % 3072 > 20 && len % 3072 < 3072 - 20) continue
        expect(addon.crc32c(0x1234, big, start, start + len)).toBe(crc32cUpdateJs(0x1234, big, start, start + len))
      }
    }
  })

  test('command frames: one native call equals the JS path with the crc field zeroed', () => {
    const addon = native()
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 10, maxLength: 20000 }), (frame) => {
        const zeroed = Uint8Array.from(frame)
        zeroed.fill(0, 6, 10)
        const want = crc32cUpdateJs(0, zeroed)
        expect(addon.crc32cCommand(frame, 0, frame.length)).toBe(want)
        expect(crc32cCommandFrame(frame, 0, frame.length)).toBe(want)
        expect(crc32cCommandFrame(Uint8Array.from([9, ...frame]), 1, frame.length + 1)).toBe(want)
      }),
      { numRuns: 300 },
    )
    expect(() => addon.crc32cCommand(new Uint8Array(9), 0, 9)).toThrow(/at least 10 bytes/)
  })

  test('crc32cFrames checks a chunk of frames in one call: stops at a cut or an oversized frame, flags a bad one; the checker stops after END', () => {
    const addon = native()
    const checker = crc32cFramesChecker()
    if (!checker) throw new Error('no native frame checker')
    const bytes = fixture('multi-plain-v1.bin')
    const frames = units(bytes)
    const firstEnd = frames.find((u) => u.kind === 'command' && u.cmd === 21)
    if (!firstEnd) throw new Error('no END')
    expect(checker(bytes, 17, bytes.length, 1 << 20)).toBe(firstEnd.end)
    // The addon knows frames, not commands: two ENDs in a row are two frames to it.
    const ends = Buffer.concat([bytes.subarray(firstEnd.start, firstEnd.end), bytes.subarray(firstEnd.start, firstEnd.end)])
    expect(addon.crc32cFrames(ends, 0, ends.length, 1 << 20)).toBe(ends.length)
    expect(checker(ends, 0, ends.length, 1 << 20)).toBe(ends.length / 2)
    const second = frames.filter((u) => u.kind === 'command' && u.start > firstEnd.end)
    expect(addon.crc32cFrames(bytes, second[0].start, bytes.length, 1 << 20)).toBe(bytes.length)
    const third = frames.filter((u) => u.kind === 'command')[3]
    expect(addon.crc32cFrames(bytes, 17, third.end - 1, 1 << 20)).toBe(third.start)
    // The first frame longer than every frame before it: a cap just below its len stops there.
    const cmds = frames.filter((u) => u.kind === 'command')
    const lens = cmds.map((u) => u.end - u.start - 10)
    const k = lens.findIndex((len, i) => i > 0 && len > Math.max(...lens.slice(0, i)))
    expect(k).toBeGreaterThan(0)
    expect(addon.crc32cFrames(bytes, 17, bytes.length, lens[k] - 1)).toBe(cmds[k].start)
    const bad = Buffer.from(bytes)
    bad[third.start + 12] ^= 1
    expect(addon.crc32cFrames(bad, 17, bad.length, 1 << 20)).toBe(-third.start - 1)
    expect(addon.crc32cFrames(bytes, 17, 17, 1 << 20)).toBe(17)
  })

  test('worker threads load the addon too and get the same CRCs (tables are built once per process)', async () => {
    const { Worker } = await import('node:worker_threads')
    const dist = path.join(__dirname, '..', '..', 'dist', 'stream', 'crc32c.js')
    const edge = path.join(__dirname, '..', '..', 'dist', 'stream', 'crc32c-native.js')
    const code = `const { parentPort } = require('node:worker_threads'); const m = require(${JSON.stringify(dist)}); require(${JSON.stringify(edge)});` +
      `const b = new Uint8Array(50000).map((_v, i) => (i * 31) & 0xff);` +
      `parentPort.postMessage([m.crc32cIsNative(), m.crc32cUpdate(0, b), m.crc32cCommandFrame(b, 0, b.length)])`
    const runs = await Promise.all([1, 2, 3].map(() => new Promise<unknown>((resolve, reject) => {
      const w = new Worker(code, { eval: true })
      w.once('message', resolve)
      w.once('error', reject)
    })))
    const b = new Uint8Array(50000).map((_v, i) => (i * 31) & 0xff)
    const zeroed = Uint8Array.from(b)
    zeroed.fill(0, 6, 10)
    for (const r of runs) expect(r).toEqual([true, crc32cUpdateJs(0, b), crc32cUpdateJs(0, zeroed)])
  })

  test('rejects ranges outside the array instead of reading past it', () => {
    const addon = native()
    // Addon errors come from the main realm, so jest's sandbox fails instanceof: match messages.
    expect(() => addon.crc32c(0, new Uint8Array(4), 2, 5)).toThrow(/range outside the array/)
    expect(() => addon.crc32c(0, new Uint8Array(4), 3, 2)).toThrow(/range outside the array/)
    expect(() => addon.crc32c(0, new Uint16Array(4) as unknown as Uint8Array, 0, 1)).toThrow(/expected a Uint8Array/)
  })
})
