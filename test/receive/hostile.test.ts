// Hostile streams, built with StreamEncoder, each named after the threat. For every one: the
// receive rejects with a coded error, nothing outside the destination changed (tree digest of
// a decoy tree beside it, and no file appeared at the absolute targets), and the destination
// holds no subvolume at all (the partial one was deleted, so nothing looks received).
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { receive, StreamEncoder } from '../../lib/index.js'
import type { CommandData } from '../../lib/index.js'
import { describeBtrfs, sh } from '../support/btrfs.js'
import { chunked, digest } from './support/harness.js'

const b = (s: string) => Buffer.from(s)
const UUID = randomBytes(16)

function stream(commands: CommandData[], version: 1 | 2 = 1): Buffer {
  const enc = new StreamEncoder({ version })
  return enc.stream([{ type: 'subvol', path: b('victim-subvol'), uuid: UUID, ctransid: 7n }, ...commands, { type: 'end' }])
}

describeBtrfs('receive: hostile streams change nothing outside the destination', { size: '512M' }, (fs) => {
  let dest: string
  let outside: string
  let absTarget: string
  let before: string

  beforeAll(() => {
    outside = path.join(fs().mnt, 'outside')
    mkdirSync(path.join(outside, 'dir'), { recursive: true })
    writeFileSync(path.join(outside, 'victim'), 'precious data\n')
    writeFileSync(path.join(outside, 'dir', 'victim2'), 'more precious data\n')
    absTarget = path.join(fs().dir, 'abs-target')
    before = digest(outside)
  })

  beforeEach(() => {
    dest = path.join(fs().mnt, `dest-${randomBytes(4).toString('hex')}`)
    mkdirSync(dest)
  })

  afterEach(() => {
    expect(digest(outside)).toBe(before)
    expect(existsSync(absTarget)).toBe(false)
    expect(existsSync(path.join(fs().mnt, 'escape'))).toBe(false)
    expect(readdirSync(dest)).toEqual([])
  })

  async function expectRejected(bytes: Buffer, code: string | RegExp, causeCode?: string): Promise<void> {
    const err = (await receive(chunked(bytes, 4096), dest).then(
      () => {
        throw new Error('receive succeeded')
      },
      (e: unknown) => e,
    )) as { code: string; cause?: { code?: string }; message: string }
    if (typeof code === 'string') expect(err.code).toBe(code)
    else expect(err.code).toMatch(code)
    if (causeCode) expect(err.cause?.code).toBe(causeCode)
  }

  test('escape-dotdot-create: mkfile ../escape', async () => {
    await expectRejected(stream([{ type: 'mkfile', path: b('../escape'), ino: 257n }]), 'BTRFS_RECEIVE_PATH_REJECTED')
  })

  test('escape-dotdot-deep: mkdir then a/../../escape', async () => {
    await expectRejected(
      stream([{ type: 'mkdir', path: b('a'), ino: 257n }, { type: 'mkfile', path: b('a/../../escape'), ino: 258n }]),
      'BTRFS_RECEIVE_PATH_REJECTED',
    )
  })

  test('escape-absolute-path: mkfile of an absolute path', async () => {
    await expectRejected(stream([{ type: 'mkfile', path: b(absTarget), ino: 257n }]), 'BTRFS_RECEIVE_PATH_REJECTED')
  })

  test('escape-nul-and-empty-components', async () => {
    await expectRejected(stream([{ type: 'mkfile', path: Buffer.from('a\0b'), ino: 257n }]), 'BTRFS_RECEIVE_PATH_REJECTED')
    await expectRejected(stream([{ type: 'mkfile', path: b('a//b'), ino: 257n }]), 'BTRFS_RECEIVE_PATH_REJECTED')
    await expectRejected(stream([{ type: 'mkfile', path: b('./x'), ino: 257n }]), 'BTRFS_RECEIVE_PATH_REJECTED')
  })

  test('escape-symlink-then-write: symlink to an outside file, then WRITE through it', async () => {
    await expectRejected(
      stream([
        { type: 'symlink', path: b('lnk'), ino: 257n, pathLink: b(path.join(outside, 'victim')) },
        { type: 'write', path: b('lnk'), fileOffset: 0, data: b('pwned') },
      ]),
      'BTRFS_RECEIVE_COMMAND_FAILED',
      'ELOOP',
    )
  })

  test('escape-symlink-then-truncate-chmod: TRUNCATE and CHMOD through a symlink', async () => {
    const link: CommandData = { type: 'symlink', path: b('lnk'), ino: 257n, pathLink: b(path.join(outside, 'victim')) }
    await expectRejected(stream([link, { type: 'truncate', path: b('lnk'), size: 0 }]), 'BTRFS_RECEIVE_COMMAND_FAILED', 'ELOOP')
    await expectRejected(stream([link, { type: 'chmod', path: b('lnk'), mode: 0o777 }]), 'BTRFS_RECEIVE_COMMAND_FAILED')
  })

  test('escape-symlinked-directory: create and write below a symlink to an outside directory', async () => {
    const dirLink: CommandData = { type: 'symlink', path: b('d'), ino: 257n, pathLink: b(outside) }
    await expectRejected(stream([dirLink, { type: 'mkfile', path: b('d/escape'), ino: 258n }]), 'BTRFS_RECEIVE_COMMAND_FAILED', 'ELOOP')
    await expectRejected(
      stream([dirLink, { type: 'write', path: b('d/victim'), fileOffset: 0, data: b('pwned') }]),
      'BTRFS_RECEIVE_COMMAND_FAILED',
      'ELOOP',
    )
    await expectRejected(
      stream([dirLink, { type: 'set_xattr', path: b('d/victim'), xattrName: b('user.pwned'), xattrData: b('1') }]),
      'BTRFS_RECEIVE_COMMAND_FAILED',
      'ELOOP',
    )
  })

  test('escape-rename-outside: RENAME to ../escape and into a symlinked directory', async () => {
    await expectRejected(
      stream([{ type: 'mkfile', path: b('a'), ino: 257n }, { type: 'rename', path: b('a'), pathTo: b('../escape') }]),
      'BTRFS_RECEIVE_PATH_REJECTED',
    )
    await expectRejected(
      stream([
        { type: 'symlink', path: b('d'), ino: 257n, pathLink: b(outside) },
        { type: 'mkfile', path: b('a'), ino: 258n },
        { type: 'rename', path: b('a'), pathTo: b('d/victim') },
      ]),
      'BTRFS_RECEIVE_COMMAND_FAILED',
      'ELOOP',
    )
  })

  test('escape-link-outside: LINK to an outside file by .. and through a symlinked directory', async () => {
    await expectRejected(
      stream([{ type: 'link', path: b('h'), pathLink: b('../outside/victim') }]),
      'BTRFS_RECEIVE_PATH_REJECTED',
    )
    await expectRejected(
      stream([{ type: 'mkfile', path: b('f'), ino: 257n }, { type: 'link', path: b('../escape'), pathLink: b('f') }]),
      'BTRFS_RECEIVE_PATH_REJECTED',
    )
    await expectRejected(
      stream([
        { type: 'symlink', path: b('d'), ino: 257n, pathLink: b(outside) },
        { type: 'link', path: b('h'), pathLink: b('d/victim') },
      ]),
      'BTRFS_RECEIVE_COMMAND_FAILED',
      'ELOOP',
    )
  })

  test('escape-clone-outside: CLONE from ../, through a symlink, and from an unknown subvolume', async () => {
    const mk: CommandData = { type: 'mkfile', path: b('f'), ino: 257n }
    const clone = (clonePath: string, cloneUuid = UUID): CommandData => ({
      type: 'clone', path: b('f'), fileOffset: 0, cloneLen: 4096, cloneUuid, cloneCtransid: 1n, clonePath: b(clonePath), cloneOffset: 0,
    })
    await expectRejected(stream([mk, clone('../outside/victim')]), 'BTRFS_RECEIVE_PATH_REJECTED')
    await expectRejected(
      stream([mk, { type: 'symlink', path: b('l'), ino: 258n, pathLink: b(path.join(outside, 'victim')) }, clone('l')]),
      'BTRFS_RECEIVE_COMMAND_FAILED',
      'ELOOP',
    )
    await expectRejected(stream([mk, clone('victim', randomBytes(16))]), 'BTRFS_RECEIVE_PARENT_NOT_FOUND')
  })

  test('escape-device-node-write: a device node is never opened for writing', async () => {
    await expectRejected(
      stream([
        { type: 'mknod', path: b('mem'), ino: 257n, rdev: 0x101n, mode: 0o20600 },
        { type: 'write', path: b('mem'), fileOffset: 0, data: b('pwned') },
      ]),
      'BTRFS_RECEIVE_COMMAND_FAILED',
      'EINVAL',
    )
  })

  test('escape-subvolume-name: SUBVOL named ../escape or a/b', async () => {
    const enc = new StreamEncoder()
    for (const name of ['../escape', 'a/b', '..', '']) {
      const bytes = enc.stream([{ type: 'subvol', path: b(name), uuid: UUID, ctransid: 1n }, { type: 'end' }])
      await expectRejected(bytes, 'BTRFS_RECEIVE_PATH_REJECTED')
    }
  })

  test('oversized-command: a 100 MiB command is refused before it is buffered', async () => {
    const enc = new StreamEncoder()
    const head = stream([{ type: 'mkfile', path: b('f'), ino: 257n }]).subarray(0, -10)
    const huge = enc.raw(15, [], { len: 100 * 1024 * 1024 })
    await expectRejected(Buffer.concat([head, huge]), 'BTRFS_STREAM_TOO_LARGE')
  })

  test('bad-crc-mid-subvolume: the subvolume is deleted, not marked received', async () => {
    const enc = new StreamEncoder()
    const good = stream([{ type: 'mkfile', path: b('f'), ino: 257n }, { type: 'write', path: b('f'), fileOffset: 0, data: b('x') }])
    const bad = enc.raw(11, [{ type: 15, value: b('f') }], { crc: 0xdeadbeef })
    await expectRejected(Buffer.concat([good.subarray(0, -10), bad, good.subarray(-10)]), 'BTRFS_STREAM_BAD_CRC')
  })

  test('truncated-mid-stream: input ending inside a command, or before END', async () => {
    const full = stream([{ type: 'mkfile', path: b('f'), ino: 257n }, { type: 'write', path: b('f'), fileOffset: 0, data: randomBytes(3000) }])
    await expectRejected(full.subarray(0, full.length - 1500), 'BTRFS_STREAM_TRUNCATED')
    await expectRejected(full.subarray(0, full.length - 10), 'BTRFS_STREAM_TRUNCATED')
  })

  test('unknown-parent: SNAPSHOT of a uuid not on this filesystem names the uuid', async () => {
    const parent = randomBytes(16)
    const enc = new StreamEncoder()
    const bytes = enc.stream([
      { type: 'snapshot', path: b('snap'), uuid: UUID, ctransid: 2n, cloneUuid: parent, cloneCtransid: 1n },
      { type: 'end' },
    ])
    const err = (await receive(chunked(bytes), dest).catch((e: unknown) => e)) as Error & { code: string }
    expect(err.code).toBe('BTRFS_RECEIVE_PARENT_NOT_FOUND')
    const hex = parent.toString('hex')
    expect(err.message).toContain(`${hex.slice(0, 8)}-${hex.slice(8, 12)}`)
  })
})

describeBtrfs('receive: failure handling', { size: '512M' }, (fs) => {
  test('keepPartial keeps the failed subvolume writable, unreceived and under a temporary name', async () => {
    const dest = path.join(fs().mnt, 'keep')
    mkdirSync(dest)
    const bytes = stream([
      { type: 'mkfile', path: b('ok'), ino: 257n },
      { type: 'write', path: b('ok'), fileOffset: 0, data: b('kept') },
      { type: 'mkfile', path: b('../escape'), ino: 258n },
    ])
    const err = (await receive(chunked(bytes), dest, { keepPartial: true }).catch((e: unknown) => e)) as {
      code: string; partialPath?: string; message: string; command?: string; offset?: number
    }
    expect(err.code).toBe('BTRFS_RECEIVE_PATH_REJECTED')
    expect(err.command).toBe('mkfile')
    expect(typeof err.offset).toBe('number')
    expect(err.partialPath).toBeDefined()
    expect(path.basename(err.partialPath!)).toMatch(/^\.btrfs-receive-[0-9a-f]+-victim-subvol$/)
    expect(err.message).toContain(err.partialPath!)
    expect(readdirSync(dest)).toEqual([path.basename(err.partialPath!)])
    const show = sh('btrfs', ['subvolume', 'show', err.partialPath!])
    expect(show).toMatch(/Received UUID:\s+-/)
    expect(show).not.toMatch(/Flags:\s*readonly/)
    expect(existsSync(path.join(fs().mnt, 'escape'))).toBe(false)
  })

  test('maxErrors 0 goes on past failures, reports each, and still never marks the subvolume received', async () => {
    const dest = path.join(fs().mnt, 'maxerr')
    mkdirSync(dest)
    const warnings: string[] = []
    const bytes = stream([
      { type: 'mkfile', path: b('a'), ino: 257n },
      { type: 'unlink', path: b('missing1') },
      { type: 'unlink', path: b('missing2') },
      { type: 'mkfile', path: b('b'), ino: 258n },
    ])
    const err = (await receive(chunked(bytes), dest, { maxErrors: 0, onWarning: (w) => warnings.push(w.code) }).catch((e: unknown) => e)) as {
      code: string; message: string; cause?: { cause?: { code?: string } }
    }
    expect(warnings).toEqual(['BTRFS_RECEIVE_COMMAND_FAILED', 'BTRFS_RECEIVE_COMMAND_FAILED'])
    expect(err.code).toBe('BTRFS_RECEIVE_COMMAND_FAILED')
    expect(err.message).toMatch(/incomplete: 2 command/)
    expect(err.cause?.cause?.code).toBe('ENOENT')
    expect(readdirSync(dest)).toEqual([])
  })

  test('an existing subvolume name fails before anything is created', async () => {
    const dest = path.join(fs().mnt, 'exists')
    mkdirSync(path.join(dest, 'victim-subvol'), { recursive: true })
    writeFileSync(path.join(dest, 'victim-subvol', 'mine'), 'untouched')
    const err = (await receive(chunked(stream([])), dest).catch((e: unknown) => e)) as { code: string; cause?: { code?: string } }
    expect(err.code).toBe('BTRFS_RECEIVE_COMMAND_FAILED')
    expect(err.cause?.code).toBe('EEXIST')
    expect(readdirSync(dest)).toEqual(['victim-subvol'])
    expect(readdirSync(path.join(dest, 'victim-subvol'))).toEqual(['mine'])
  })

  test('a source that fails mid-stream rejects with its error and leaves nothing', async () => {
    const dest = path.join(fs().mnt, 'srcfail')
    mkdirSync(dest)
    const bytes = stream([{ type: 'mkfile', path: b('a'), ino: 257n }])
    async function* failing() {
      yield bytes.subarray(0, 60)
      throw new Error('source broke')
    }
    await expect(receive(failing(), dest)).rejects.toThrow('source broke')
    expect(readdirSync(dest)).toEqual([])
  })

  test('a symlink to an outside directory is not followed when it is the destination itself', async () => {
    const real = path.join(fs().mnt, 'real-dest')
    mkdirSync(real)
    const link = path.join(fs().mnt, 'dest-link')
    symlinkSync(real, link)
    const result = await receive(chunked(stream([{ type: 'mkfile', path: b('f'), ino: 257n }])), link)
    // The destination the user names may be a symlink (like any path argument); it is resolved once.
    expect(result.subvolumes[0].path).toBe(path.join(real, 'victim-subvol'))
  })
})
