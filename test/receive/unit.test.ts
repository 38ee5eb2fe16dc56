// Pure parts of the receiver, no root needed: the lexical path guard (table of hostile paths),
// the LZO1X decoder's bounds checks, the decompression fallback's limits, inode flag mapping,
// and errors surviving the worker boundary with their class and fields.
import { deflateSync } from 'node:zlib'
import { BtrfsSystemError } from '../../lib/index.js'
import { ReceiveError } from '../../lib/receive/engine/receive-error.js'
import { checkPath, pathProblem, displayPath } from '../../lib/receive/fs/path-guard.js'
import { lzo1xDecompress, LzoError } from '../../lib/receive/codecs/lzo1x.js'
import { decompressExtent } from '../../lib/receive/codecs/decompress.js'
import { btrfsFlagsToFsFlags } from '../../lib/receive/fs/inode-flags.js'
import { flattenError, rebuildError } from '../../lib/receive/api/error-transfer.js'

describe('path guard', () => {
  test.each([
    ['', true, undefined],
    ['', false, 'root'],
    ['a', false, undefined],
    ['a/b/c', false, undefined],
    ['..', false, "'..' component"],
    ['a/..', false, "'..' component"],
    ['../a', false, "'..' component"],
    ['a/../b', false, "'..' component"],
    ['.', false, "'.' component"],
    ['./a', false, "'.' component"],
    ['/abs', false, 'absolute path'],
    ['a//b', false, 'empty path component'],
    ['a/', false, 'empty path component'],
    ['a\0b', false, 'NUL'],
    ['...', false, undefined],
    ['..a', false, undefined],
    ['n'.repeat(255), false, undefined],
    ['n'.repeat(256), false, 'longer than 255'],
    [`${'d/'.repeat(2047)}x`, false, undefined],
    [`${'d/'.repeat(2048)}x`, false, 'longer than 4095'],
  ] as const)('%j (root allowed: %s)', (p, allowRoot, problem) => {
    const got = pathProblem(Buffer.from(p), allowRoot)
    if (problem === undefined) expect(got).toBeUndefined()
    else expect(got).toContain(problem)
  })

  test('rejections are coded and name the path, escaped', () => {
    expect(() => checkPath(Buffer.from([0x2e, 0x2e, 0x2f, 0xff]), false)).toThrow(expect.objectContaining({
      code: 'BTRFS_RECEIVE_PATH_REJECTED', path: '../\\377',
    }))
    expect(displayPath(Buffer.from('a b\\'))).toBe('a b\\\\')
  })
})

describe('LZO1X and the decompression fallback', () => {
  test('a literal-only LZO1X block decodes', () => {
    // First byte 17 + n encodes n literals; then the end marker 0x11 0x00 0x00.
    const data = Buffer.from('hello world!')
    const block = Buffer.concat([Buffer.from([17 + data.length]), data, Buffer.from([0x11, 0x00, 0x00])])
    const out = new Uint8Array(64)
    const n = lzo1xDecompress(block, 0, block.length, out, 0)
    expect(Buffer.from(out.subarray(0, n)).toString()).toBe('hello world!')
  })

  test('overruns are errors, never reads or writes out of bounds', () => {
    const block = Buffer.concat([Buffer.from([17 + 10]), Buffer.from('0123456789'), Buffer.from([0x11, 0x00, 0x00])])
    expect(() => lzo1xDecompress(block, 0, block.length, new Uint8Array(5), 0)).toThrow(LzoError)
    expect(() => lzo1xDecompress(block, 0, 6, new Uint8Array(64), 0)).toThrow(LzoError)
    // A match reaching before the start of the output.
    expect(() => lzo1xDecompress(Buffer.from([0x40 | 0x1c, 0xff, 0x11, 0, 0]), 0, 5, new Uint8Array(64), 0)).toThrow(LzoError)
  })

  test('btrfs LZO framing: segments per sector, zero-filled to unencoded_len', () => {
    const seg = Buffer.concat([Buffer.from([17 + 4]), Buffer.from('abcd'), Buffer.from([0x11, 0, 0])])
    const le32 = (n: number) => {
      const b = Buffer.alloc(4)
      b.writeUInt32LE(n)
      return b
    }
    const body = Buffer.concat([le32(seg.length), seg])
    const framed = Buffer.concat([le32(body.length + 4), body])
    const out = decompressExtent(3, framed, 4096)
    expect(out.length).toBe(4096)
    expect(out.subarray(0, 4).toString()).toBe('abcd')
    expect(out.subarray(4).every((b) => b === 0)).toBe(true)
    expect(() => decompressExtent(3, Buffer.concat([le32(1000), body]), 4096)).toThrow(/does not fit/)
  })

  test('zlib output is capped at unencoded_len', () => {
    const big = deflateSync(Buffer.alloc(1 << 20, 0x61))
    expect(() => decompressExtent(1, big, 4096)).toThrow()
    expect(decompressExtent(1, deflateSync(Buffer.from('xyz')), 8).toString()).toBe('xyz\0\0\0\0\0')
  })
})

describe('inode flags', () => {
  test('btrfs flags map to FS_*_FL, NOCOMPRESS wins over COMPRESS, RO_VERITY is not settable', () => {
    expect(btrfsFlagsToFsFlags(0x200)).toBe(0x80)
    expect(btrfsFlagsToFsFlags(0x900)).toBe(0x40 | 0x4)
    expect(btrfsFlagsToFsFlags((1 << 3) | (1 << 11))).toBe(0x400)
    expect(btrfsFlagsToFsFlags(2 ** 32)).toBe(0)
    expect(btrfsFlagsToFsFlags(0x2 | 0x40 | 0x80)).toBe(0x800000 | 0x10 | 0x20)
  })
})

describe('errors across the worker boundary', () => {
  test('class, code, fields and cause chain survive', () => {
    const cause = new BtrfsSystemError({ errno: -28, syscall: 'pwrite', path: 'a/b' })
    const err = new ReceiveError('BTRFS_RECEIVE_COMMAND_FAILED', 'write failed', { cause, command: 'write', path: 'a/b', offset: 42, commandIndex: 3 })
    const back = rebuildError(structuredClone(flattenError(err))) as ReceiveError
    expect(back).toBeInstanceOf(ReceiveError)
    expect(back.message).toBe('write failed')
    expect([back.code, back.command, back.path, back.offset, back.commandIndex]).toEqual(['BTRFS_RECEIVE_COMMAND_FAILED', 'write', 'a/b', 42, 3])
    expect(back.cause).toBeInstanceOf(BtrfsSystemError)
    expect((back.cause as BtrfsSystemError).code).toBe('ENOSPC')
    expect((back.cause as BtrfsSystemError).errno).toBe(-28)
  })
})

describe('receive() options and the CLI progress line', () => {
  test.each([
    [{ maxErrors: -1 }, /maxErrors/],
    [{ maxErrors: 1.5 }, /maxErrors/],
    [{ keepPartial: 'yes' }, /keepPartial/],
    [{ onProgress: 5 }, /onProgress/],
    [{ signal: {} }, /signal/],
    [{ maxCommandLength: 0 }, /maxCommandLength/],
  ])('%j is refused before anything starts', async (options, message) => {
    const { receive } = await import('../../lib/index.js')
    await expect(receive([], '/nonexistent', options as never)).rejects.toMatchObject({ code: 'BTRFS_INVALID_ARGUMENT', message: expect.stringMatching(message) })
  })

  test('an already aborted signal rejects with AbortError carrying the reason', async () => {
    const { receive } = await import('../../lib/index.js')
    const reason = new Error('stop')
    await expect(receive([], '/nonexistent', { signal: AbortSignal.abort(reason) })).rejects.toMatchObject({ name: 'AbortError', cause: reason })
  })

  test('progress line: bytes, rate, commands, subvolume; cut to the terminal width', async () => {
    const { progressLine } = await import('../../lib/cli/receive.js')
    const line = progressLine({ bytes: 3 * 1048576, commands: 1234, subvolume: 'snap-2024', subvolumesDone: 1, path: 'a/b' }, 2000, 200)
    expect(line).toBe('3.0 MiB at 1.5 MiB/s, 1234 commands, 1 done, receiving snap-2024')
    expect(progressLine({ bytes: 0, commands: 0, subvolume: 'x'.repeat(300), subvolumesDone: 0, path: undefined }, 0, 40).length).toBeLessThanOrEqual(40)
  })
})
