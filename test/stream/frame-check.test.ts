// FrameChecker, receive()'s caller-thread CRC pass (no root needed): valid input in any chunking
// passes, and a corrupted byte, a bad header or an oversized command fails with the same code,
// offset and command index as the StreamDecoder reports for the same bytes; the TypeScript
// fallback agrees with the addon's batch check.
import fc from 'fast-check'
import { StreamDecoder } from '../../lib/stream/decoder.js'
import { StreamEncoder } from '../../lib/stream/encoder.js'
import { CMD, DEFAULT_MAX_COMMAND_LENGTH } from '../../lib/stream/constants.js'
import { crc32cFramesChecker } from '../../lib/stream/crc32c.js'
import '../../lib/stream/crc32c-native.js'
import { FrameChecker, framesJs } from '../../lib/stream/frame-check.js'
import { FIXTURES, units } from './helpers.js'

const b = (s: string) => Buffer.from(s)

/** Two concatenated streams (v1 then v2), with commands of many sizes, one of them empty (END). */
function sample(): Buffer {
  const v1 = new StreamEncoder({ version: 1 })
  const v2 = new StreamEncoder({ version: 2 })
  const uuid = Buffer.alloc(16, 7)
  const data = Buffer.alloc(70000, 0x5a)
  return Buffer.concat([
    v1.stream([
      { type: 'subvol', path: b('s'), uuid, ctransid: 1n },
      { type: 'mkfile', path: b('f'), ino: 257n },
      { type: 'write', path: b('f'), fileOffset: 0, data: data.subarray(0, 48000) },
      { type: 'chmod', path: b('f'), mode: 0o644 },
      { type: 'end' },
    ]),
    v2.stream([
      { type: 'subvol', path: b('t'), uuid, ctransid: 2n },
      { type: 'mkfile', path: b('g'), ino: 257n },
      { type: 'write', path: b('g'), fileOffset: 0, data },
      { type: 'end' },
    ]),
  ])
}

/** `bytes` cut at the given offsets. */
function cut(bytes: Buffer, at: number[]): Buffer[] {
  const points = [...new Set(at.map((p) => Math.min(bytes.length, Math.max(0, p))))].sort((x, y) => x - y)
  const out: Buffer[] = []
  let prev = 0
  for (const p of [...points, bytes.length]) {
    if (p > prev) out.push(bytes.subarray(prev, p))
    prev = p
  }
  return out
}

function checkerError(chunks: Buffer[], max?: number): unknown {
  const c = new FrameChecker(max)
  try {
    for (const chunk of chunks) c.check(chunk)
  } catch (err) {
    return err
  }
  return undefined
}

function decoderError(bytes: Buffer, max?: number): unknown {
  const d = new StreamDecoder({ maxCommandLength: max })
  try {
    d.write(bytes)
    while (d.next() !== undefined);
  } catch (err) {
    return err
  }
  return undefined
}

const where = (e: unknown) => {
  const { code, offset, commandIndex } = e as { code: string; offset: number; commandIndex: number }
  return { code, offset, commandIndex }
}

describe('FrameChecker', () => {
  const inputs = [...FIXTURES.map((f) => [f.name, f.bytes] as const), ['two concatenated streams', sample()] as const]

  test.each(inputs)('%s passes whole, byte by byte and in random chunks', (_name, bytes) => {
    expect(checkerError([bytes])).toBeUndefined()
    expect(checkerError(cut(bytes, Array.from({ length: bytes.length }, (_, i) => i)))).toBeUndefined()
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: bytes.length }), { maxLength: 40 }), (at) => checkerError(cut(bytes, at)) === undefined),
      { numRuns: 50 },
    )
  })

  test('a flipped byte anywhere in a command but its len field: BAD_CRC where the decoder says, in any chunking', () => {
    const bytes = sample()
    const commands = units(bytes).filter((u) => u.kind === 'command')
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: commands.length - 1 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        fc.array(fc.integer({ min: 0, max: bytes.length }), { maxLength: 8 }),
        (k, r, mask, at) => {
          const u = commands[k]
          const pos = u.start + 4 + (r % (u.end - u.start - 4))
          const bad = Buffer.from(bytes)
          bad[pos] ^= mask
          const expected = decoderError(bad)
          expect(where(expected).code).toBe('BTRFS_STREAM_BAD_CRC')
          expect(where(checkerError(cut(bad, at)))).toEqual(where(expected))
        },
      ),
      { numRuns: 300 },
    )
  })

  test('bad magic, at the start or after END, and an unsupported version: as the decoder reports them', () => {
    const bytes = sample()
    const second = units(bytes).filter((u) => u.kind === 'header')[1].start
    for (const pos of [0, 5, second + 2]) {
      const bad = Buffer.from(bytes)
      bad[pos] ^= 0x20
      expect(where(checkerError(cut(bad, [pos - 1, pos + 1])))).toEqual(where(decoderError(bad)))
      expect(where(decoderError(bad)).code).toBe('BTRFS_STREAM_BAD_MAGIC')
    }
    const v9 = Buffer.from(bytes)
    v9.writeUInt32LE(9, 13)
    expect(where(checkerError([v9]))).toEqual(where(decoderError(v9)))
    expect(where(decoderError(v9)).code).toBe('BTRFS_STREAM_UNSUPPORTED_VERSION')
  })

  test('oversized-command: refused as soon as its header has passed, before any payload', () => {
    const enc = new StreamEncoder({ version: 1 })
    const head = Buffer.concat([enc.header(), enc.encode({ type: 'mkfile', path: b('f'), ino: 257n })])
    const huge = enc.raw(CMD.WRITE, [], { len: DEFAULT_MAX_COMMAND_LENGTH + 1 }).subarray(0, 10)
    const input = Buffer.concat([head, huge])
    for (const at of [[], [head.length + 3], [head.length + 9]]) {
      const err = checkerError(cut(input, at))
      expect(where(err)).toEqual(where(decoderError(input)))
      expect(where(err)).toMatchObject({ code: 'BTRFS_STREAM_TOO_LARGE', offset: head.length, commandIndex: 1 })
    }
    // A lower limit applies to ordinary commands too.
    expect(where(checkerError([sample()], 1000)).code).toBe('BTRFS_STREAM_TOO_LARGE')
  })

  test('the TypeScript fallback gives the addon batch check’s answers', () => {
    const native = crc32cFramesChecker()
    const bytes = sample()
    const bad = Buffer.from(bytes)
    bad[bytes.length - 200] ^= 1
    for (const input of [bytes, bad]) {
      for (const u of units(input)) {
        if (u.kind !== 'command') continue
        expect(framesJs(input, u.start, input.length, DEFAULT_MAX_COMMAND_LENGTH)).toBe(
          native ? native(input, u.start, input.length, DEFAULT_MAX_COMMAND_LENGTH) : framesJs(input, u.start, input.length, DEFAULT_MAX_COMMAND_LENGTH),
        )
      }
    }
  })
})
