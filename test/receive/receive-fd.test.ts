// receiveFd(), the in-thread receiver behind the CLI: same results as btrfs receive (full and
// incremental, read from a file descriptor in chunks, one read ahead), the same refusals for
// hostile and corrupt input (nothing outside the destination touched, nothing left in it), abort
// between chunks, and stopAtEnd leaving what follows the first END unread. Also the engine's
// straddle copy, through receive() with tiny chunks: every command then spans chunks.
import { randomBytes } from 'node:crypto'
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, writeFileSync, writeSync } from 'node:fs'
import path from 'node:path'
import { receive, StreamEncoder } from '../../lib/index.js'
import type { CommandData } from '../../lib/index.js'
import { native } from '../../lib/native.js'
import { receiveFd } from '../../lib/receive/api/receive-fd.js'
import { describeBtrfs, sh } from '../support/btrfs.js'
import { btrfsReceive, chunked, digest, extraFilesystems, snapshotPair, subvolumeShow } from './support/harness.js'

const b = (s: string) => Buffer.from(s)

describeBtrfs('receive: receiveFd (in-thread, as the CLI runs it)', { size: '1G' }, (fs) => {
  const oracle = extraFilesystems(1, { size: '512M' })
  let snap0: string
  let snap1: string
  let full: Buffer
  let inc: Buffer

  beforeAll(async () => {
    ;({ snap0, snap1, full, inc } = await snapshotPair(
      fs().mnt,
      (src) => {
        mkdirSync(path.join(src, 'dir/sub'), { recursive: true })
        // Over 1 MiB in all, so the reader hands over several chunks and commands straddle them.
        for (let i = 0; i < 300; i++) writeFileSync(path.join(src, i % 2 ? 'dir' : 'dir/sub', `f${i}`), randomBytes(100 + i * 40))
        writeFileSync(path.join(src, 'big'), randomBytes(3 << 20))
      },
      (src) => {
        // The incremental renames a directory and then uses paths under both its old and new name.
        sh('mv', [path.join(src, 'dir/sub'), path.join(src, 'moved')])
        for (let i = 0; i < 300; i += 7) writeFileSync(path.join(src, i % 2 ? 'dir' : 'moved', `f${i}`), randomBytes(50))
        writeFileSync(path.join(src, 'dir', 'new'), 'new')
      },
    ))
  })

  function fileOf(bytes: Buffer): string {
    const file = path.join(fs().dir, `in-${randomBytes(4).toString('hex')}.stream`)
    writeFileSync(file, bytes)
    return file
  }

  async function receiveFile(bytes: Buffer, dest: string, options = {}) {
    const fd = openSync(fileOf(bytes), 'r')
    try {
      return await receiveFd(fd, dest, options)
    } finally {
      closeSync(fd)
    }
  }

  function freshDest(name: string): string {
    const dest = path.join(fs().mnt, `${name}-${randomBytes(3).toString('hex')}`)
    mkdirSync(dest)
    return dest
  }

  test('full then incremental: equal to the source and to btrfs receive, read-only, received', async () => {
    const dest = freshDest('fd')
    const theirs = oracle()[0].mnt
    const a = await receiveFile(full, dest)
    const r = await receiveFile(inc, dest)
    btrfsReceive(full, theirs, fs().dir)
    btrfsReceive(inc, theirs, fs().dir)
    expect(a.subvolumes.map((s) => s.name)).toEqual(['snap0'])
    expect(r.subvolumes.map((s) => s.kind)).toEqual(['snapshot'])
    expect(r.bytes).toBe(inc.length)
    for (const name of ['snap0', 'snap1']) {
      const mine = digest(path.join(dest, name), { rootMtime: false })
      expect(mine).toBe(digest(path.join(fs().mnt, name), { rootMtime: false }))
      expect(mine).toBe(digest(path.join(theirs, name), { rootMtime: false }))
      const show = subvolumeShow(path.join(dest, name))
      expect(show.readOnly).toBe(true)
      expect(show.receivedUuid).toBe(subvolumeShow(path.join(theirs, name)).receivedUuid)
    }
  })

  test('the worker path with small chunks (commands straddle them; 7 bytes: every one does) gives the same trees', async () => {
    const dest = freshDest('tiny-chunks')
    await receive(chunked(full, 1021), dest)
    await receive(chunked(inc, 7), dest)
    expect(digest(path.join(dest, 'snap1'), { rootMtime: false })).toBe(digest(snap1, { rootMtime: false }))
  })

  test('progress during a long WRITE names its path after the chunk holding the command before it was handed back', async () => {
    // A small MKFILE, then a 60 KiB WRITE spread over 15 chunks with no complete command: each
    // of those chunks reports progress (interval 0) while the MKFILE's chunk is already released.
    const uuid = randomBytes(16)
    const bytes = new StreamEncoder().stream([
      { type: 'subvol', path: b('progress'), uuid, ctransid: 1n },
      { type: 'mkfile', path: b('long'), ino: 257n },
      { type: 'write', path: b('long'), fileOffset: 0, data: randomBytes(60 << 10) },
      { type: 'end' },
    ])
    const paths = new Set<string | undefined>()
    const dest = freshDest('progress')
    await receive(chunked(bytes, 4096), dest, { progressInterval: 0, onProgress: (p) => paths.add(p.path) })
    expect(paths.has('long')).toBe(true)
  })

  test('hostile and corrupt input: coded errors, nothing outside touched, nothing left behind', async () => {
    const enc = new StreamEncoder()
    const uuid = randomBytes(16)
    const wrap = (cmds: CommandData[]) => enc.stream([{ type: 'subvol', path: b('v'), uuid, ctransid: 1n }, ...cmds, { type: 'end' }])
    const outside = path.join(fs().mnt, 'outside-fd')
    mkdirSync(outside, { recursive: true })
    writeFileSync(path.join(outside, 'victim'), 'precious\n')
    const before = digest(outside)
    const cases: Array<[Buffer, string]> = [
      [wrap([{ type: 'mkfile', path: b('../outside-fd/escape'), ino: 257n }]), 'BTRFS_RECEIVE_PATH_REJECTED'],
      [wrap([{ type: 'symlink', path: b('l'), ino: 257n, pathLink: b(outside) }, { type: 'write', path: b('l/victim'), fileOffset: 0, data: b('x') }]), 'BTRFS_RECEIVE_COMMAND_FAILED'],
      [full.subarray(0, full.length - 1000), 'BTRFS_STREAM_TRUNCATED'],
    ]
    const corrupt = Buffer.from(full)
    corrupt[corrupt.length - 2000] ^= 0xff
    cases.push([corrupt, 'BTRFS_STREAM_BAD_CRC'])
    for (const [bytes, code] of cases) {
      const dest = freshDest('bad')
      const err = (await receiveFile(bytes, dest).catch((e: unknown) => e)) as { code?: string }
      expect(err.code).toBe(code)
      expect(readdirSync(dest)).toEqual([])
    }
    expect(digest(outside)).toBe(before)
    expect(existsSync(path.join(fs().mnt, 'outside-fd', 'escape'))).toBe(false)
  })

  test('abort between chunks: AbortError carrying the reason, the partial subvolume deleted', async () => {
    const dest = freshDest('abort')
    const [readEnd, writeEnd] = native().pipe2()
    // Room for each 256 KiB write below, so writing never waits for the reader (same thread).
    native().fcntlSetPipeSize(writeEnd, 1 << 20)
    const controller = new AbortController()
    // The first 256 KiB, then nothing more until the abort: the receive waits for its next read.
    writeSync(writeEnd, full.subarray(0, 256 * 1024))
    const pending = receiveFd(readEnd, dest, { signal: controller.signal }, false).catch((e: unknown) => e)
    let progress = false
    for (let i = 0; i < 200 && !progress; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10))
      progress = readdirSync(dest).length > 0
    }
    expect(progress).toBe(true)
    controller.abort(new Error('stop now'))
    // The reader is parked in a read: feed it one more chunk so the loop sees the abort.
    writeSync(writeEnd, full.subarray(256 * 1024, 512 * 1024))
    const err = (await pending) as { name?: string; cause?: { message?: string } }
    closeSync(writeEnd)
    closeSync(readEnd)
    expect(err.name).toBe('AbortError')
    expect(err.cause?.message).toBe('stop now')
    expect(readdirSync(dest)).toEqual([])
  })

  test('stopAtEnd: one subvolume, whatever follows the first END is never parsed', async () => {
    const dest = freshDest('stop')
    const r = await receiveFile(Buffer.concat([full, b('this is not a stream')]), dest, { stopAtEnd: true })
    expect(r.subvolumes.map((s) => s.name)).toEqual(['snap0'])
    expect(r.bytes).toBe(full.length)
  })
})
