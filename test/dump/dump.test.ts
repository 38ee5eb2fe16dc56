// dump(): text identical to `btrfs receive --dump` on the kernel fixtures (committed progs 6.2
// output, and the installed binary run live in several time zones), the current (≥ 6.9.1)
// set_xattr/encoded_write format from hand-written goldens, and the JSON Lines form.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import type { Command } from '../../lib/stream/commands.js'
import { decodeAll } from '../../lib/stream/decoder.js'
import { StreamEncoder } from '../../lib/stream/encoder.js'
import { createDumpContext, formatCommand } from '../../lib/dump/format.js'
import { dump, toJson } from '../../lib/dump/dump.js'
import { FIXTURES, FIXTURE_DIR, fixture } from '../stream/helpers.js'

const TITLES = new Set([
  'subvol', 'snapshot', 'mkfile', 'mkdir', 'mknod', 'mkfifo', 'mksock', 'symlink', 'rename', 'link', 'unlink',
  'rmdir', 'set_xattr', 'remove_xattr', 'write', 'clone', 'truncate', 'chmod', 'chown', 'utimes', 'update_extent',
  'fallocate', 'fileattr', 'encoded_write', 'enable_verity',
])
/** Lines whose format changed after progs 6.2; checked against the hand-written goldens instead. */
const CHANGED = /^(set_xattr|encoded_write) /

/** Splits progs output into records: 6.2 prints raw newlines inside xattr values. */
function records(text: string): string[] {
  const out: string[] = []
  for (const l of text.split('\n').slice(0, -1)) {
    if (TITLES.has(l.slice(0, 16).trimEnd()) && l[16] !== ' ' && l.length > 16) out.push(l)
    else out[out.length - 1] += '\n' + l
  }
  return out
}

const DIST_CLI = path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js')
const DIST_FORMAT = path.join(__dirname, '..', '..', 'dist', 'dump', 'format.js')

async function ourLines(bytes: Uint8Array, timeZone = 'UTC'): Promise<string[]> {
  const lines: string[] = []
  for await (const l of dump([bytes], { timeZone })) lines.push(l)
  return lines
}

/** Our lines for the first stream only (progs --dump stops at the first END). */
function firstStreamLines(bytes: Uint8Array, timeZone = 'UTC'): string[] {
  const ctx = createDumpContext({ timeZone })
  const out: string[] = []
  for (const c of decodeAll(bytes)) {
    if (c.type === 'end') break
    const l = formatCommand(c, ctx)
    if (l !== undefined) out.push(l)
  }
  return out
}

function compareWithProgs(ours: string[], progsText: string): void {
  const theirs = records(progsText).filter((l) => !CHANGED.test(l))
  const mine = ours.filter((l) => !CHANGED.test(l))
  expect(mine.length).toBeGreaterThan(5)
  expect(mine).toEqual(theirs)
}

describe('text dump equals btrfs receive --dump', () => {
  test.each(FIXTURES.map((f) => [f.name, f.bytes] as const))('%s vs the committed progs 6.2 dump (TZ=UTC)', (name, bytes) => {
    const progs = fs.readFileSync(path.join(FIXTURE_DIR, name.replace(/\.bin$/, '.progs-6.2.dump')), 'latin1')
    compareWithProgs(firstStreamLines(bytes, 'UTC'), progs)
  })

  test.each(FIXTURES.map((f) => [f.name, f.bytes] as const))('%s: set_xattr and encoded_write lines equal the hand-written current-format golden', async (name, bytes) => {
    const golden = path.join(FIXTURE_DIR, name.replace(/\.bin$/, '.current-format.golden'))
    const want = fs.existsSync(golden) ? fs.readFileSync(golden, 'latin1').split('\n').slice(0, -1) : []
    const got = await ourLines(bytes)
    expect(got.filter((l) => CHANGED.test(l))).toEqual(want)
    // The old format had the same records: same count, same leading fields.
    const progs = records(fs.readFileSync(path.join(FIXTURE_DIR, name.replace(/\.bin$/, '.progs-6.2.dump')), 'latin1'))
    const firstStream = firstStreamLines(bytes).filter((l) => CHANGED.test(l))
    expect(progs.filter((l) => CHANGED.test(l)).map((l) => l.slice(0, 48))).toEqual(firstStream.map((l) => l.slice(0, 48)))
  })

  describe('live, against the installed btrfs receive --dump', () => {
    const hasProgs = spawnSync('btrfs', ['--version']).status === 0
    test('the btrfs binary is installed (this machine and CI)', () => {
      expect(hasProgs).toBe(true)
    })
    for (const tz of ['UTC', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe']) {
      test.each(FIXTURES.map((f) => [f.name] as const))(`%s, TZ=${tz}`, (name) => {
        const file = path.join(FIXTURE_DIR, name)
        const env = { ...process.env, TZ: tz }
        const progs = spawnSync('btrfs', ['receive', '--dump', '-f', file], { env, encoding: 'latin1' })
        expect(progs.status).toBe(0)
        compareWithProgs(firstStreamLines(fixture(name), tz), progs.stdout)
        // The CLI (built dist/) in a process whose TZ is set, as progs' is: the default path.
        const cli = spawnSync(process.execPath, [DIST_CLI, 'dump', '-f', file], { env, encoding: 'latin1' })
        expect(cli.status).toBe(0)
        const first = cli.stdout.split('\n').slice(0, firstStreamLines(fixture(name)).length)
        compareWithProgs(first, progs.stdout)
      })
    }
  })

  test('unlike progs, the dump goes on through concatenated streams', async () => {
    const lines = await ourLines(fixture('multi-plain-v1.bin'))
    expect(lines.filter((l) => l.startsWith('subvol ')).map((l) => l.split(/ +/)[1])).toEqual(['./multi-a-snap', './multi-b-snap'])
    expect(lines).toContain('chmod           ./multi-b-snap/                 mode=755')
    expect(lines.filter((l) => l.includes('file-b.txt')).length).toBeGreaterThan(3)
  })
})

describe('every command in the current progs format', () => {
  const b = (s: string): Buffer => Buffer.from(s, 'latin1')
  const uuid = (s: string): Buffer => Buffer.from(s.replace(/-/g, ''), 'hex')
  const ts = (sec: bigint) => ({ sec, nsec: 123 })
  const enc = new StreamEncoder({ version: 3 })
  const stream = enc.stream([
    { type: 'snapshot', path: b('snap'), uuid: uuid('00112233-4455-6677-8899-aabbccddeeff'), ctransid: 11n, cloneUuid: uuid('ffeeddcc-bbaa-9988-7766-554433221100'), cloneCtransid: 8n },
    { type: 'mkfile', path: b('o257-7-0'), ino: 257n },
    { type: 'rename', path: b('o257-7-0'), pathTo: b('dir with space/f\n1') },
    { type: 'mkdir', path: b('o258-7-0'), ino: 258n },
    { type: 'mknod', path: b('o259-7-0'), ino: 259n, rdev: 0x103n, mode: 0o20644 },
    { type: 'mkfifo', path: b('o260-7-0'), ino: 260n, rdev: 0n, mode: 0o10644 },
    { type: 'mksock', path: b('o261-7-0'), ino: 261n, rdev: 0n, mode: 0o140755 },
    { type: 'symlink', path: b('o262-7-0'), ino: 262n, pathLink: b('../target file') },
    { type: 'link', path: b('hard'), pathLink: b('file') },
    { type: 'unlink', path: b('old') },
    { type: 'rmdir', path: b('olddir') },
    { type: 'set_xattr', path: b('file'), xattrName: b('user.k'), xattrData: b('v\0\xff') },
    { type: 'remove_xattr', path: b('file'), xattrName: b('user.k') },
    { type: 'write', path: b('file'), fileOffset: 4096, data: Buffer.alloc(10) },
    { type: 'clone', fileOffset: 0, cloneLen: 8192, path: b('file'), cloneUuid: uuid('00112233-4455-6677-8899-aabbccddeeff'), cloneCtransid: 11n, clonePath: b('src'), cloneOffset: 4096 },
    { type: 'truncate', path: b('file'), size: 100 },
    { type: 'chmod', path: b('file'), mode: 0o4755 },
    { type: 'chown', path: b('file'), uid: 1000, gid: 100 },
    { type: 'utimes', path: b('file'), atime: ts(1700000000n), mtime: ts(1700000001n), ctime: ts(1700000002n), otime: ts(1n) },
    { type: 'update_extent', path: b('file'), fileOffset: 0, size: 12 },
    { type: 'fallocate', path: b('file'), fallocateMode: 3, fileOffset: 4096, size: 8192 },
    { type: 'fileattr', path: b('file'), fileattr: 512 },
    { type: 'encoded_write', path: b('file'), fileOffset: 0, unencodedFileLen: 131072, unencodedLen: 131072, unencodedOffset: 0, compression: 2, encryption: 0, data: Buffer.alloc(20) },
    { type: 'enable_verity', path: b('file'), verityAlgorithm: 1, verityBlockSize: 4096, veritySaltData: b('salt'), veritySigData: Buffer.alloc(0) },
    { type: 'subvol', path: b('snap1'), uuid: uuid('ba55a9b6-751e-2a4a-8bbf-019c63adc2aa'), ctransid: 8n },
    { type: 'chown', path: b(''), uid: 0, gid: 0 },
    { type: 'chmod', path: b(''), mode: 0o755 },
    { type: 'set_xattr', path: b('small.txt'), xattrName: b('user.test'), xattrData: b('value 1\n') },
    { type: 'end' },
  ])

  test('lines', async () => {
    const lines = await ourLines(stream)
    expect(lines).toEqual([
      'snapshot        ./snap                          uuid=00112233-4455-6677-8899-aabbccddeeff transid=11 parent_uuid=ffeeddcc-bbaa-9988-7766-554433221100 parent_transid=8',
      'mkfile          ./snap/o257-7-0',
      'rename          ./snap/o257-7-0                 dest=./snap/dir\\ with\\ space/f\\n1',
      'mkdir           ./snap/o258-7-0',
      'mknod           ./snap/o259-7-0                 mode=20644 dev=0x103',
      'mkfifo          ./snap/o260-7-0',
      'mksock          ./snap/o261-7-0',
      'symlink         ./snap/o262-7-0                 dest=../target\\ file',
      'link            ./snap/hard                     dest=file',
      'unlink          ./snap/old',
      'rmdir           ./snap/olddir',
      'set_xattr       ./snap/file                     name=user.k v\\000\\377 len=3',
      'remove_xattr    ./snap/file                     name=user.k',
      'write           ./snap/file                     offset=4096 len=10',
      'clone           ./snap/file                     offset=0 len=8192 from=./snap/src clone_offset=4096',
      'truncate        ./snap/file                     size=100',
      'chmod           ./snap/file                     mode=4755',
      'chown           ./snap/file                     gid=100 uid=1000',
      'utimes          ./snap/file                     atime=2023-11-14T22:13:20+0000 mtime=2023-11-14T22:13:21+0000 ctime=2023-11-14T22:13:22+0000',
      'update_extent   ./snap/file                     offset=0 len=12',
      'fallocate       ./snap/file                     mode=3 offset=4096 len=8192',
      'fileattr        ./snap/file                     fileattr=0x512',
      'encoded_write   ./snap/file                     offset=0 len=20 unencoded_file_len=131072 unencoded_len=131072 unencoded_offset=0 compression=2 encryption=0',
      'enable_verity   ./snap/file                     algorithm=1 block_size=4096 salt_len=4 sig_len=0',
      'subvol          ./snap1                         uuid=ba55a9b6-751e-2a4a-8bbf-019c63adc2aa transid=8',
      'chown           ./snap1/                        gid=0 uid=0',
      'chmod           ./snap1/                        mode=755',
      'set_xattr       ./snap1/small.txt               name=user.test value\\ 1\\n len=8',
    ])
  })

  test('padding, C-string cuts and path joining', () => {
    const ctx = createDumpContext()
    const cmd = (c: object): Command => ({ offset: 0, index: 0, stream: 0, version: 2, ...c }) as Command
    // Before any SUBVOL the subvolume path is ".".
    expect(formatCommand(cmd({ type: 'truncate', path: b('x'), size: 1 }), ctx)).toBe('truncate        ./x                             size=1')
    formatCommand(cmd({ type: 'subvol', path: b('s/'), uuid: Buffer.alloc(16), ctransid: 1n }), ctx)
    expect(ctx.subvolPath.toString()).toBe('./s')
    // 29 + 3 escaped chars = exactly 32: still one space; 31 chars: one space to reach 32.
    expect(formatCommand(cmd({ type: 'truncate', path: b('a'.repeat(26) + ' '), size: 1 }), ctx)).toBe(`truncate        ./s/${'a'.repeat(26)}\\  size=1`)
    expect(formatCommand(cmd({ type: 'truncate', path: b('a'.repeat(27)), size: 1 }), ctx)).toBe(`truncate        ./s/${'a'.repeat(27)} size=1`)
    expect(formatCommand(cmd({ type: 'truncate', path: b('a'.repeat(40)), size: 1 }), ctx)).toBe(`truncate        ./s/${'a'.repeat(40)} size=1`)
    // Trailing slashes are trimmed, a NUL ends a C string, and 0x7f / 0x80 / \e / \a are escaped.
    expect(formatCommand(cmd({ type: 'mkdir', path: b('d//'), ino: 1n }), ctx)).toBe('mkdir           ./s/d')
    expect(formatCommand(cmd({ type: 'unlink', path: b('a\0hidden') }), ctx)).toBe('unlink          ./s/a')
    expect(formatCommand(cmd({ type: 'unlink', path: b('\x7f\x80\x1b\x07\x08\x0c\x0d\x0b\x01') }), ctx)).toBe(
      'unlink          ./s/\\177\\200\\e\\a\\b\\f\\r\\v\\001',
    )
    // fallocate prints its mode with %d (an int), fileattr in decimal after 0x.
    expect(formatCommand(cmd({ type: 'fallocate', path: b('f'), fallocateMode: 0x80000001, fileOffset: 0, size: 1 }), ctx)).toMatch(/mode=-2147483647 /)
    expect(formatCommand(cmd({ type: 'fileattr', path: b('f'), fileattr: 0x900 }), ctx)).toMatch(/fileattr=0x2304$/)
    expect(formatCommand(cmd({ type: 'end' }), ctx)).toBeUndefined()
    expect(formatCommand(cmd({ type: 'unknown', cmd: 99, payload: Buffer.alloc(0) }), ctx)).toBeUndefined()
  })

  const SECS = [0n, 1700000000n, 1710054000n, 1719792000n, 2n ** 31n, 4102444800n, 253402300799n, 2n ** 64n - 1n, 2n ** 64n - 86400n * 365n * 3000n]
  const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Pacific/Chatham']
  // coreutils date prints years past 9999 as "+10000" (its own strftime); glibc's, which progs
  // uses, prints "10000" (checked with a C program on this machine), hence the replace.
  const dateCmd = (tz: string, sec: bigint): string =>
    spawnSync('date', ['-d', `@${BigInt.asIntN(64, sec)}`, '+%FT%T%z'], { env: { ...process.env, TZ: tz }, encoding: 'utf8' })
      .stdout.trim()
      .replace(/^\+/, '')

  test('times follow strftime("%FT%T%z", localtime()) like date(1): timeZone option', () => {
    for (const tz of ZONES) {
      const ctx = createDumpContext({ timeZone: tz })
      for (const sec of SECS) {
        const line = formatCommand({ type: 'utimes', offset: 0, index: 0, stream: 0, version: 1, path: b(''), atime: { sec, nsec: 0 }, mtime: { sec, nsec: 0 }, ctime: { sec, nsec: 0 } }, ctx)
        expect({ tz, sec, got: line?.split('atime=')[1].split(' ')[0] }).toEqual({ tz, sec, got: dateCmd(tz, sec) })
      }
    }
  })

  test('times follow strftime("%FT%T%z", localtime()) like date(1): process TZ (built dist/)', () => {
    for (const tz of ZONES) {
      const script = `const { formatTime } = require(${JSON.stringify(DIST_FORMAT)});` +
        `for (const s of process.argv.slice(1)) console.log(formatTime({ sec: BigInt(s), nsec: 0 }))`
      const run = spawnSync(process.execPath, ['-e', script, ...SECS.map(String)], { env: { ...process.env, TZ: tz }, encoding: 'utf8' })
      expect(run.stderr).toBe('')
      expect({ tz, got: run.stdout.trim().split('\n') }).toEqual({ tz, got: SECS.map((sec) => dateCmd(tz, sec)) })
    }
  })

  test('an unknown timeZone is refused up front', () => {
    expect(() => createDumpContext({ timeZone: 'Mars/Olympus' })).toThrow(expect.objectContaining({ code: 'BTRFS_INVALID_ARGUMENT' }))
  })

  test('a time localtime cannot represent is a coded error', () => {
    const bad = { type: 'utimes', offset: 5, index: 2, stream: 0, version: 1, path: b(''), atime: { sec: 2n ** 62n, nsec: 0 }, mtime: { sec: 0n, nsec: 0 }, ctime: { sec: 0n, nsec: 0 } } as const
    expect(() => formatCommand(bad)).toThrow(expect.objectContaining({ code: 'BTRFS_DUMP_TIME_OUT_OF_RANGE', offset: 5, commandIndex: 2 }))
  })
})

describe('JSON Lines', () => {
  test('every attribute of every command, with explicit encodings', async () => {
    const bytes = fixture('full-v2.bin')
    const cmds = decodeAll(bytes)
    const lines: string[] = []
    for await (const l of dump([bytes], { format: 'json' })) lines.push(l)
    expect(lines).toHaveLength(cmds.length)
    for (const [i, line] of lines.entries()) {
      const j = JSON.parse(line) as Record<string, unknown>
      const c = cmds[i] as unknown as Record<string, unknown>
      expect(Object.keys(j).sort()).toEqual(Object.keys(c).filter((k) => c[k] !== undefined).sort())
      expect(j).toMatchObject({ type: c.type, offset: c.offset, index: i, stream: 0, version: 2 })
      if (c.type === 'subvol') expect(j.ctransid).toBe(String(c.ctransid))
      if (c.type === 'write') expect(Buffer.from((j.data as { base64: string }).base64, 'base64').equals(c.data as Buffer)).toBe(true)
    }
    const latin = lines.map((l) => JSON.parse(l)).find((j) => j.type === 'rename' && j.pathTo.base64)
    expect(Buffer.from(latin.pathTo.base64, 'base64')).toEqual(Buffer.from('caf\xe9-\xff\xfe', 'latin1'))
    const named = lines.map((l) => JSON.parse(l)).find((j) => j.type === 'rename' && j.pathTo.utf8 === 'dir with space/f\n1')
    expect(named).toBeDefined()
    const utimes = lines.map((l) => JSON.parse(l)).find((j) => j.type === 'utimes')
    expect(utimes.atime).toEqual({ sec: expect.stringMatching(/^\d+$/), nsec: expect.any(Number) })
    const subvol = JSON.parse(lines[0])
    expect(subvol.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
  })

  test('toJson of an unknown command keeps its number and payload', () => {
    const j = toJson({ type: 'unknown', cmd: 77, payload: Buffer.from('hi'), offset: 1, index: 0, stream: 0, version: 1 })
    expect(j).toEqual({ type: 'unknown', cmd: 77, payload: { base64: 'aGk=' }, offset: 1, index: 0, stream: 0, version: 1 })
  })

  test('a bad format option is refused', async () => {
    await expect(dump([Buffer.alloc(0)], { format: 'xml' as never }).next()).rejects.toThrow(expect.objectContaining({ code: 'BTRFS_INVALID_ARGUMENT' }))
  })
})
