// FILEATTR (v2 incrementals only) is applied, unlike btrfs receive, which ignores it: flags that
// would block later commands (immutable, append-only) are set when the subvolume is finished.
// ENABLE_VERITY (v3) fails with a coded error where the kernel has no fs-verity (this one).
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { receive, StreamEncoder } from '../../lib/index.js'
import { describeBtrfs, sh } from '../support/btrfs.js'
import { chunked, digest, streamOf } from './support/harness.js'

function flags(p: string): string {
  return sh('lsattr', ['-d', p]).split(/\s+/)[0]
}

describeBtrfs('receive: inode flags and verity', { size: '512M' }, (fs) => {
  test('FILEATTR from a v2 incremental sets noatime, nodump and (at the end) immutable', async () => {
    const src = path.join(fs().mnt, 'src')
    sh('btrfs', ['subvolume', 'create', src])
    writeFileSync(path.join(src, 'a'), 'a')
    writeFileSync(path.join(src, 'i'), 'immutable')
    mkdirSync(path.join(src, 'd'))
    sh('btrfs', ['subvolume', 'snapshot', '-r', src, path.join(fs().mnt, 's0')])
    sh('chattr', ['+A', path.join(src, 'a')])
    sh('chattr', ['+d', path.join(src, 'd')])
    writeFileSync(path.join(src, 'i'), 'immutable, changed')
    sh('chattr', ['+i', path.join(src, 'i')])
    sh('btrfs', ['subvolume', 'snapshot', '-r', src, path.join(fs().mnt, 's1')])
    const dest = path.join(fs().mnt, 'dest')
    mkdirSync(dest)
    await receive(chunked(await streamOf(path.join(fs().mnt, 's0'), { protocol: 2 })), dest)
    const inc = await streamOf(path.join(fs().mnt, 's1'), { protocol: 2, parent: path.join(fs().mnt, 's0') })
    await receive(chunked(inc), dest)
    expect(flags(path.join(dest, 's1/a'))).toContain('A')
    expect(flags(path.join(dest, 's1/d'))).toContain('d')
    expect(flags(path.join(dest, 's1/i'))).toContain('i')
    expect(digest(path.join(dest, 's1'), { rootMtime: false })).toBe(digest(path.join(fs().mnt, 's1'), { rootMtime: false }))
    sh('chattr', ['-i', path.join(src, 'i')])
  })

  test('ENABLE_VERITY without kernel fs-verity is a coded failure and leaves nothing', async () => {
    const dest = path.join(fs().mnt, 'verity')
    mkdirSync(dest)
    const b = (s: string) => Buffer.from(s)
    const bytes = new StreamEncoder({ version: 3 }).stream([
      { type: 'subvol', path: b('v'), uuid: randomBytes(16), ctransid: 1n },
      { type: 'mkfile', path: b('f'), ino: 257n },
      { type: 'write', path: b('f'), fileOffset: 0, data: randomBytes(8192) },
      { type: 'enable_verity', path: b('f'), verityAlgorithm: 1, verityBlockSize: 4096, veritySaltData: Buffer.alloc(0), veritySigData: Buffer.alloc(0) },
      { type: 'end' },
    ])
    const err = (await receive(chunked(bytes), dest).catch((e: unknown) => e)) as { code: string; command: string; cause?: { code?: string } }
    expect(err.code).toBe('BTRFS_RECEIVE_COMMAND_FAILED')
    expect(err.command).toBe('enable_verity')
    expect(['ENOTSUP', 'EOPNOTSUPP', 'ENOTTY']).toContain(err.cause?.code)
    expect(sh('ls', ['-A', dest])).toBe('')
  })
})
