// The receiver's syscall queue (lib/receive/fs/queued-ops.ts over native/op_queue.cc): records run
// in order on their own thread with virtual fds; the first failure stops the queue and is
// reported with its command's tag; recovery closes what the queue opened. Then, on btrfs, the
// session's replay: every failing or fallback stream gives exactly the result and the errors of
// the unbatched receiver (BTRFS_STREAM_NO_BATCH=1), which applies each syscall in turn.
import { randomBytes } from 'node:crypto'
import { closeSync, existsSync, fstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { receive, StreamEncoder } from '../../lib/index.js'
import type { CommandData } from '../../lib/index.js'
import { QueuedOps, QueueFailure, RECORD_LAYOUT } from '../../lib/receive/fs/queued-ops.js'
import { C, RESOLVE_CONFINED, sys } from '../../lib/receive/fs/sys.js'
import { describeBtrfs } from '../support/btrfs.js'
import { chunked, digest } from './support/harness.js'

const b = (s: string) => Buffer.from(s)
const SLOT_BASE = 0x40000000

function openFds(): number {
  return readdirSync('/proc/self/fd').length
}

function withBatchingOff<T>(fn: () => Promise<T>): Promise<T> {
  process.env.BTRFS_STREAM_NO_BATCH = '1'
  return fn().finally(() => {
    delete process.env.BTRFS_STREAM_NO_BATCH
  })
}

describe('QueuedOps', () => {
  test('writes records in the layout the addon reads (sizes, field offsets, opcodes, slots)', () => {
    expect(JSON.parse(JSON.stringify(sys.opQueueLayout))).toEqual(RECORD_LAYOUT)
  })

  let dir: string
  let dirFd: number

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'btrfs-stream-queue-'))
    dirFd = sys.openat2(-100, b(dir), C.O_PATH | C.O_DIRECTORY, 0, 0)
  })

  afterEach(() => {
    closeSync(dirFd)
    rmSync(dir, { recursive: true, force: true })
  })

  test('records run in order on the queue thread, with virtual fds until real()', () => {
    const ops = new QueuedOps()
    ops.start(1)
    ops.mkdirat(dirFd, b('d'), 0o755)
    const d = ops.openat2(dirFd, b('d'), C.O_PATH | C.O_DIRECTORY, 0, RESOLVE_CONFINED)
    expect(d).toBeGreaterThanOrEqual(SLOT_BASE)
    ops.tag = 2
    const f = ops.openat2(d, b('f'), C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o644, RESOLVE_CONFINED)
    expect(ops.pwritev(f, [b('hello '), b('world')], 0)).toBe(11)
    ops.fchmod(f, 0o600)
    ops.utimensat(f, null, 1000n, 5, 2000n, 123456789, 0)
    const real = ops.real(f)
    expect(real).toBeLessThan(SLOT_BASE)
    expect(fstatSync(real).isFile()).toBe(true)
    ops.close(f)
    ops.close(d)
    expect(ops.settle()).toBeUndefined()
    const file = path.join(dir, 'd', 'f')
    const st = statSync(file, { bigint: true })
    expect(st.mtimeNs).toBe(2000123456789n)
    expect(st.atimeNs).toBe(1000000000005n)
    expect(Number(st.mode) & 0o7777).toBe(0o600)
    expect(readFileSync(file, 'utf8')).toBe('hello world')
    ops.shutdown()
  })

  test('the first failing record stops the queue: its tag is reported, later records are skipped, recover() closes what it opened', () => {
    const before = openFds()
    const ops = new QueuedOps()
    ops.start(5)
    const f = ops.openat2(dirFd, b('a'), C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o644, RESOLVE_CONFINED)
    ops.tag = 6
    ops.unlinkat(dirFd, b('missing'), 0)
    ops.tag = 7
    ops.mkdirat(dirFd, b('after'), 0o700)
    const failure = ops.settle()
    expect(failure).toBeInstanceOf(QueueFailure)
    expect(failure!.tag).toBe(6)
    expect(failure!.errno).toBe(-os.constants.errno.ENOENT)
    expect(existsSync(path.join(dir, 'a'))).toBe(true)
    expect(existsSync(path.join(dir, 'after'))).toBe(false)
    expect(openFds()).toBe(before + 1)
    ops.recover()
    expect(openFds()).toBe(before)
    // Its slot was closed by the recovery: closing the virtual fd again does nothing.
    ops.close(f)
    ops.mkdirat(dirFd, b('later'), 0o700)
    expect(ops.settle()).toBeUndefined()
    expect(existsSync(path.join(dir, 'later'))).toBe(true)
    ops.shutdown()
  })

  test('real() throws the QueueFailure of an earlier record', () => {
    const ops = new QueuedOps()
    ops.start(3)
    ops.renameat2(dirFd, b('nope'), dirFd, b('x'), 0)
    expect(() => ops.real(dirFd)).toThrow(QueueFailure)
    ops.recover()
    ops.shutdown()
  })

  test('waitBelow(tag) returns once every record tagged below it ran', () => {
    const ops = new QueuedOps()
    ops.start(1)
    ops.mkdirat(dirFd, b('first'), 0o700)
    for (let t = 2; t < 200; t++) {
      ops.tag = t
      ops.mkdirat(dirFd, b(`n${t}`), 0o700)
    }
    ops.waitBelow(2)
    expect(existsSync(path.join(dir, 'first'))).toBe(true)
    expect(ops.doneBelow()).toBeGreaterThanOrEqual(2)
    ops.waitBelow(200)
    expect(readdirSync(dir).length).toBe(199)
    ops.shutdown()
  })

  test('a symlink target or name longer than a record holds runs directly: ENAMETOOLONG, not a RangeError', () => {
    const ops = new QueuedOps()
    ops.start(1)
    const target = Buffer.alloc(64 * 1024, 0x61)
    for (let i = 0; i < 4; i++) {
      expect(() => ops.symlinkat(target, dirFd, b(`l${i}`))).toThrow(expect.objectContaining({ errno: -os.constants.errno.ENAMETOOLONG }))
    }
    expect(() => ops.mkdirat(dirFd, Buffer.alloc(5000, 0x62), 0o700)).toThrow(expect.objectContaining({ errno: -os.constants.errno.ENAMETOOLONG }))
    ops.shutdown()
  })

  test('a name holding a NUL byte is refused at once, as the direct call does (EINVAL)', () => {
    const ops = new QueuedOps()
    expect(() => ops.mkdirat(dirFd, Buffer.from('a\0b'), 0o700)).toThrow(expect.objectContaining({ errno: -os.constants.errno.EINVAL }))
    ops.shutdown()
  })

  test('BTRFS_STREAM_NO_BATCH=1: every call is the direct syscall', () => {
    process.env.BTRFS_STREAM_NO_BATCH = '1'
    try {
      const ops = new QueuedOps()
      expect(ops.direct).toBe(true)
      const f = ops.openat2(dirFd, b('g'), C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o644, RESOLVE_CONFINED)
      expect(f).toBeLessThan(SLOT_BASE)
      ops.pwritev(f, [b('x')], 0)
      expect(readFileSync(path.join(dir, 'g'), 'utf8')).toBe('x')
      expect(() => ops.unlinkat(dirFd, b('missing'), 0)).toThrow(expect.objectContaining({ errno: -os.constants.errno.ENOENT }))
      ops.close(f)
      ops.shutdown()
    } finally {
      delete process.env.BTRFS_STREAM_NO_BATCH
    }
  })
})

describeBtrfs('receive: the syscall queue fails and falls back exactly as direct syscalls do', { size: '512M' }, (fs) => {
  const UUID = randomBytes(16)

  function stream(commands: CommandData[]): Buffer {
    const enc = new StreamEncoder({ version: 1 })
    return enc.stream([{ type: 'subvol', path: b('queued'), uuid: UUID, ctransid: 9n }, ...commands, { type: 'end' }])
  }

  /** Many files, each with data and times: enough records to be in flight when something fails. */
  function files(prefix: string, n: number, firstIno: number, stem = 'f'): CommandData[] {
    const out: CommandData[] = []
    for (let i = 0; i < n; i++) {
      const p = b(`${prefix}/${stem}${i}`)
      out.push({ type: 'mkfile', path: b(`o${firstIno + i}-0-0`), ino: BigInt(firstIno + i) })
      out.push({ type: 'rename', path: b(`o${firstIno + i}-0-0`), pathTo: p })
      out.push({ type: 'write', path: p, fileOffset: 0, data: b(`data ${i}\n`) })
      out.push({ type: 'chown', path: p, uid: 0, gid: 0 })
      out.push({ type: 'chmod', path: p, mode: 0o640 })
      out.push(utimes(p, i))
    }
    return out
  }

  function utimes(p: Buffer, nsec: number): CommandData {
    return { type: 'utimes', path: p, atime: { sec: 1000n, nsec }, mtime: { sec: 2000n, nsec }, ctime: { sec: 0n, nsec: 0 } }
  }

  interface Outcome {
    error?: Record<string, unknown>
    warnings: string[]
    tree?: string
  }

  async function outcome(bytes: Buffer, maxErrors = 1): Promise<Outcome> {
    const dest = path.join(fs().mnt, `dest-${randomBytes(4).toString('hex')}`)
    mkdirSync(dest)
    const warnings: string[] = []
    try {
      const result = await receive(chunked(bytes, 4096), dest, { maxErrors, onWarning: (w) => warnings.push(`${w.code}: ${w.message}`) })
      return { warnings, tree: digest(result.subvolumes[0].path) }
    } catch (err) {
      const e = err as Record<string, unknown>
      expect(readdirSync(dest)).toEqual([])
      return { warnings, error: { name: e.name, code: e.code, message: e.message, command: e.command, path: e.path, offset: e.offset, commandIndex: e.commandIndex } }
    }
  }

  async function expectSameAsDirect(bytes: Buffer, maxErrors = 1): Promise<Outcome> {
    const queued = await outcome(bytes, maxErrors)
    const direct = await withBatchingOff(() => outcome(bytes, maxErrors))
    expect(queued).toEqual(direct)
    return queued
  }

  test('an UNLINK that fails behind 200 queued files reports that command, as the direct receiver does', async () => {
    const got = await expectSameAsDirect(
      stream([{ type: 'mkdir', path: b('d'), ino: 256n }, ...files('d', 200, 300), { type: 'unlink', path: b('d/missing') }, ...files('d', 5, 600).slice(6)]),
    )
    expect(got.error?.code).toBe('BTRFS_RECEIVE_COMMAND_FAILED')
    expect(got.error?.command).toBe('unlink')
    expect(got.error?.path).toBe('d/missing')
  })

  test('a WRITE to a directory fails the queued regular-file check with EISDIR, as directly', async () => {
    const got = await expectSameAsDirect(
      stream([{ type: 'mkdir', path: b('d'), ino: 256n }, ...files('d', 50, 300), { type: 'write', path: b('d'), fileOffset: 0, data: b('x') }]),
    )
    expect(got.error?.command).toBe('write')
    expect(String(got.error?.message)).toMatch(/EISDIR/)
  })

  test('a create renamed over an existing name takes the fallback (EEXIST in the queue) and ends equal', async () => {
    const got = await expectSameAsDirect(
      stream([
        { type: 'mkdir', path: b('d'), ino: 256n },
        ...files('d', 40, 300),
        { type: 'mkfile', path: b('o999-0-0'), ino: 999n },
        { type: 'rename', path: b('o999-0-0'), pathTo: b('d/f7') },
        { type: 'write', path: b('d/f7'), fileOffset: 0, data: b('replaced\n') },
        { type: 'mkdir', path: b('o998-0-0'), ino: 998n },
        { type: 'rename', path: b('o998-0-0'), pathTo: b('sub') },
        { type: 'link', path: b('sub/hard'), pathLink: b('d/f1') },
        { type: 'unlink', path: b('d/f1') },
        utimes(b('d/f7'), 7),
        utimes(b('sub'), 1),
        utimes(b('d'), 2),
        utimes(b(''), 3),
      ]),
    )
    expect(got.error).toBeUndefined()
    expect(got.tree).toMatch(/^d\/f7 .* s=9 /m)
    expect(got.tree).toMatch(/^sub\/hard /m)
    expect(got.tree).not.toMatch(/^d\/f1 /m)
  })

  test('four 64 KiB symlink targets behind queued files fail with ENAMETOOLONG, as directly', async () => {
    const long = Buffer.alloc(65535, 0x74)
    const links: CommandData[] = []
    for (let i = 0; i < 4; i++) {
      links.push({ type: 'symlink', path: b(`o${900 + i}-0-0`), ino: BigInt(900 + i), pathLink: long })
      links.push({ type: 'rename', path: b(`o${900 + i}-0-0`), pathTo: b(`d/l${i}`) })
    }
    const got = await expectSameAsDirect(stream([{ type: 'mkdir', path: b('d'), ino: 256n }, ...files('d', 30, 300), ...links]))
    expect(got.error?.command).toBe('symlink')
    expect(String(got.error?.message)).toMatch(/ENAMETOOLONG/)
  })

  test('a LINK onto an existing name fails (EEXIST) behind queued files, as btrfs receive does', async () => {
    const got = await expectSameAsDirect(
      stream([{ type: 'mkdir', path: b('d'), ino: 256n }, ...files('d', 30, 300), { type: 'link', path: b('d/f2'), pathLink: b('d/f3') }, { type: 'unlink', path: b('d/f3') }]),
    )
    expect(got.error?.command).toBe('link')
    expect(String(got.error?.message)).toMatch(/EEXIST/)
  })

  test('WRITEs to two files back to back both land (the first one is written before its fd is let go)', async () => {
    const got = await expectSameAsDirect(
      stream([
        { type: 'mkfile', path: b('a'), ino: 257n },
        { type: 'mkfile', path: b('b'), ino: 258n },
        { type: 'write', path: b('a'), fileOffset: 0, data: b('first file\n') },
        { type: 'write', path: b('b'), fileOffset: 0, data: b('second file\n') },
        { type: 'write', path: b('a'), fileOffset: 11, data: b('more\n') },
        utimes(b('a'), 1),
        utimes(b('b'), 2),
        utimes(b(''), 3),
      ]),
    )
    expect(got.error).toBeUndefined()
    expect(got.tree).toMatch(/^a t=100000 .* s=16 /m)
    expect(got.tree).toMatch(/^b t=100000 .* s=12 /m)
  })

  test('maxErrors 0: every failure is reported in stream order, the same list as the direct receiver', async () => {
    const got = await expectSameAsDirect(
      stream([
        { type: 'mkdir', path: b('d'), ino: 256n },
        ...files('d', 60, 300),
        { type: 'unlink', path: b('d/missing1') },
        ...files('d', 60, 400, 'g'),
        { type: 'chmod', path: b('d/missing2'), mode: 0o600 },
        { type: 'utimes', path: b('d/missing3'), atime: { sec: 1n, nsec: 0 }, mtime: { sec: 1n, nsec: 0 }, ctime: { sec: 1n, nsec: 0 } },
      ]),
      0,
    )
    expect(got.warnings).toHaveLength(3)
    expect(got.warnings[0]).toMatch(/unlink 'd\/missing1'/)
    expect(got.warnings[1]).toMatch(/chmod 'd\/missing2'/)
    expect(got.warnings[2]).toMatch(/utimes 'd\/missing3'/)
    expect(got.error?.message).toMatch(/incomplete: 3 command/)
  })
})
