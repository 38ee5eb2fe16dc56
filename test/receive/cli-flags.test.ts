// `btrfs-stream receive` as a drop-in for `btrfs receive`: each flag and spelling of btrfs
// receive, run through the built CLI (dist/cli/main.js) and through the real btrfs receive on
// the same stream, each into its own filesystem. Exit status, stdout and stderr must be the same
// (for -v, our lines must be lines btrfs receive prints) and the received trees must match.
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { parseReceiveArgs } from '../../lib/cli/receive.js'
import { StreamEncoder } from '../../lib/stream/encoder.js'
import { describeBtrfs } from '../support/btrfs.js'
import { digest, extraFilesystems, snapshotPair, streamOf } from './support/harness.js'

const CLI = path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js')

interface Run {
  status: number | null
  stdout: string
  stderr: string
}

const ours = (args: string[], input?: Buffer): Run => spawnSync(CLI, ['receive', ...args], { input, encoding: 'utf8' })
const theirs = (args: string[], input?: Buffer): Run => spawnSync('btrfs', ['receive', ...args], { input, encoding: 'utf8' })

describe('receive argv: getopt_long conventions', () => {
  test('combined short flags, attached values, abbreviations, operands anywhere, --', () => {
    expect(parseReceiveArgs(['-qef', 'F', 'D'])).toMatchObject({ verbosity: 0, stopAtEnd: true, file: 'F', dest: 'D' })
    expect(parseReceiveArgs(['-fF', 'D', '-E5'])).toMatchObject({ file: 'F', dest: 'D', maxErrors: 5 })
    expect(parseReceiveArgs(['--max=0', '--force', '--chr', 'D'])).toMatchObject({ maxErrors: 0, forceDecompress: true, chroot: true })
    expect(parseReceiveArgs(['-vv', '-m', '/mnt', '--', '-D'])).toMatchObject({ verbosity: 3, rootMount: '/mnt', dest: '-D' })
    expect(parseReceiveArgs(['--dump', '-E', '1'])).toMatchObject({ dump: true, dest: undefined })
  })

  test.each([
    [['--bogus', 'D'], "unrecognized option '--bogus'"],
    [['-x', 'D'], "invalid option -- 'x'"],
    [['D', '-f'], "option requires an argument -- 'f'"],
    [['--max-errors'], "option '--max-errors' requires an argument"],
    [['--dump=1'], "option '--dump' doesn't allow an argument"],
    [['--f', 'x', 'D'], "option '--f' is ambiguous"],
    [['-E', 'x', 'D'], 'non-negative number'],
    [[], 'missing DEST'],
    [['a', 'b'], "unexpected argument 'b'"],
    [['--dump', 'D'], '--dump takes no DEST'],
  ])('%j is a usage error: %s', (args, message) => {
    expect(() => parseReceiveArgs(args)).toThrow(message)
  })
})

describeBtrfs('btrfs-stream receive takes every btrfs receive flag', { size: '512M', mountOptions: ['compress-force=zstd'] }, (fs) => {
  const receivers = extraFilesystems(2, { size: '512M' })
  let files: { FULL: string; INC: string; PACKED: string }
  let snaps: { FULL: string; INC: string; PACKED: string }

  beforeAll(async () => {
    const { snap0, snap1, full, inc } = await snapshotPair(
      fs().mnt,
      (src) => {
        for (let i = 0; i < 40; i++) writeFileSync(path.join(src, `f${i}`), randomBytes(3000 + i))
        writeFileSync(path.join(src, 'zeros'), Buffer.alloc(1 << 20))
      },
      (src) => writeFileSync(path.join(src, 'new'), 'new'),
    )
    const packed = await streamOf(snap0, { compressed: true })
    files = { FULL: path.join(fs().dir, 'full.stream'), INC: path.join(fs().dir, 'inc.stream'), PACKED: path.join(fs().dir, 'packed.stream') }
    writeFileSync(files.FULL, full)
    writeFileSync(files.INC, inc)
    writeFileSync(files.PACKED, packed)
    snaps = { FULL: snap0, INC: snap1, PACKED: snap0 }
  })

  let serial = 0
  /**
   * Runs `args` with btrfs receive and with ours, each on its own filesystem: DEST is a new
   * directory there, ROOT that filesystem's mount, FULL/INC/PACKED the stream files.
   */
  function both(args: string[], input?: Buffer): { ours: Run; theirs: Run; dests: [string, string] } {
    const label = `case${serial++}`
    const runs = receivers().map((r, i) => {
      const dest = path.join(r.mnt, label)
      mkdirSync(dest)
      const fill = (a: string): string =>
        a.replace(/DEST/g, dest).replace(/ROOT/g, r.mnt).replace(/FULL|INC|PACKED/g, (k) => files[k as keyof typeof files])
      return { run: (i === 0 ? theirs : ours)(args.map(fill), input), dest }
    })
    return { theirs: runs[0].run, ours: runs[1].run, dests: [runs[0].dest, runs[1].dest] }
  }

  /** Runs `args DEST` again into the destinations `both` made: [ours, theirs]. */
  function r2(dests: [string, string], args: string[]): [Run, Run] {
    return [ours([...args, dests[1]]), theirs([...args, dests[0]])]
  }

  function expectSame(r: ReturnType<typeof both>, received: string[], quiet = false): void {
    let want = r.theirs.stderr.split(r.dests[0]).join(r.dests[1])
    // btrfs-progs before 6.12 prints "Chroot to" even with -q; 6.12 and later do not, as we.
    if (quiet) want = want.replace(/^Chroot to .*\n/m, '')
    expect(r.ours.stderr).toBe(want)
    expect(r.ours.stdout).toBe(r.theirs.stdout)
    expect(r.ours.status).toBe(r.theirs.status)
    for (const name of received) expect(digest(path.join(r.dests[1], name))).toBe(digest(path.join(r.dests[0], name)))
  }

  test.each([
    [['-f', 'FULL', 'DEST']],
    [['-fFULL', 'DEST']],
    [['DEST', '-f', 'FULL']],
    [['-ef', 'FULL', 'DEST']],
    [['-E', '0', '-f', 'FULL', 'DEST']],
    [['--max-errors=3', '-f', 'FULL', 'DEST']],
    [['--max', '2', '--quiet', '-f', 'FULL', 'DEST']],
    [['--chr', '-E5', '-f', 'FULL', 'DEST']],
    [['-C', '-f', 'FULL', 'DEST']],
    [['-m', 'ROOT', '-f', 'FULL', 'DEST']],
    [['-q', '-f', 'FULL', 'DEST']],
    [['-qCf', 'FULL', 'DEST']],
    [['-f', 'FULL', '--', 'DEST']],
    [['--force-decompress', '-f', 'PACKED', 'DEST']],
    [['-f', 'PACKED', 'DEST']],
  ])('%j: same output, status and tree as btrfs receive', (args) => {
    const r = both(args)
    expect(r.theirs.status).toBe(0)
    expectSame(r, ['snap0'], args.some((a) => /^-[a-zA-Z]*q/.test(a) || a === '--quiet'))
  })

  test('full then incremental (At subvol on stderr, At snapshot on stdout), also from stdin with --', () => {
    const r = both(['-f', 'FULL', 'DEST'])
    expectSame(r, ['snap0'])
    const incremental = r.dests.map((dest, i) => (i === 0 ? theirs : ours)(['--', dest], readFileSync(files.INC)))
    const seen = incremental.map(({ status, stdout, stderr }) => ({ status, stdout, stderr }))
    expect(seen[1]).toEqual(seen[0])
    expect(incremental[0].stdout).toBe('At snapshot snap1\n')
    expect(digest(path.join(r.dests[1], 'snap1'))).toBe(digest(snaps.INC))
  })

  test('-v, full and incremental: every line we print is a line btrfs receive -v prints', () => {
    const full = both(['-v', '-f', 'FULL', 'DEST'])
    const inc = r2(full.dests, ['-v', '-f', files.INC])
    for (const [r, lines] of [[full.ours, full.theirs], inc] as const) {
      expect(r.status).toBe(0)
      expect(r.stdout).toBe(lines.stdout)
      const theirLines = new Set(lines.stderr.split('\n'))
      const ourLines = r.stderr.split('\n').filter(Boolean)
      expect(ourLines.length).toBeGreaterThanOrEqual(1)
      for (const line of ourLines) expect(theirLines).toContain(line)
    }
  })

  test('-e: stops at the first END although other bytes follow', () => {
    const input = Buffer.concat([readFileSync(files.FULL), Buffer.from('not a stream')])
    const r = both(['-e', 'DEST'], input)
    expect(r.theirs.status).toBe(0)
    expectSame(r, ['snap0'])
  })

  test('-E: a failing command stops the receive at N errors, as in btrfs receive', () => {
    // A stream whose second command fails (chmod of a path that does not exist).
    const enc = new StreamEncoder()
    const uuid = randomBytes(16)
    const stream = Buffer.concat([
      enc.header(),
      enc.encode({ type: 'subvol', path: Buffer.from('bad'), uuid, ctransid: 7n }),
      enc.encode({ type: 'chmod', path: Buffer.from('missing'), mode: 0o644 }),
      enc.encode({ type: 'mkfile', path: Buffer.from('later'), ino: 257n }),
      enc.encode({ type: 'end' }),
    ])
    const file = path.join(fs().dir, 'failing.stream')
    writeFileSync(file, stream)
    const one = both(['-E', '1', '-f', file, 'DEST'])
    expect(one.theirs.status).toBe(1)
    expect(one.ours.status).toBe(1)
    expect(one.ours.stderr).toMatch(/^ERROR: .*missing/m)
  })

  test('--dump (with -E): the same lines as btrfs-stream dump, no DEST, nothing received', () => {
    const dump = spawnSync(CLI, ['dump', '-f', files.FULL], { encoding: 'utf8' })
    for (const args of [['--dump', '-f', files.FULL], ['-E', '1', '--dump', '-f', files.FULL]]) {
      const r = ours(args)
      expect(r.status).toBe(0)
      expect(r.stdout).toBe(dump.stdout)
    }
    expect(dump.stdout).toMatch(/^subvol +\.\/snap0 +uuid=/)
    expect(ours(['--dump'], readFileSync(files.FULL)).stdout).toBe(dump.stdout)
  })

  test.each([[['--bogus', 'DEST']], [['-x', 'DEST']], [[]], [['DEST', 'DEST']], [['--dump', 'DEST']], [['-f']], [['-E', 'x', 'DEST']]])(
    '%j: a usage error for both (exit 1)',
    (args) => {
      const r = both(args)
      expect(r.theirs.status).toBe(1)
      expect(r.ours.status).toBe(1)
      expect(r.ours.stderr).toMatch(/^ERROR: /)
    },
  )
})
