// Every way a send can be refused gives a coded, Node-shaped error: invalid options (thrown at
// the call), and, on the stream, not read-only, not btrfs, not a subvolume, parent or clone
// source missing or on another filesystem, no parent to choose, and missing CAP_SYS_ADMIN.
import { spawnSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { BtrfsError, send, sendToFd } from '../../lib/index.js'
import { createLoopBtrfs, destroyLoopBtrfs, type LoopBtrfs } from '../../scripts/loop-btrfs.js'
import { describeBtrfs, sh } from '../support/btrfs.js'

const distIndex = path.resolve(__dirname, '../../dist/index.js')

function streamError(stream: ReturnType<typeof send>): Promise<Error & Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    stream.on('error', resolve)
    stream.on('end', () => reject(new Error('stream ended without an error')))
    stream.resume()
  })
}

describe('send() argument validation', () => {
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['no subvolume', () => send([] as string[]), /subvolumes must be a path or a non-empty array/],
    ['subvolume not a string', () => send([42 as unknown as string]), /subvolumes\[0\] must be a non-empty path string, got number 42/],
    ['protocol 3', () => send('/x', { protocol: 3 as 2 }), /options.protocol must be 1, 2 or 'latest', got number 3/],
    ['compressed with protocol 1', () => send('/x', { protocol: 1, compressed: true }), /compressed needs protocol 2/],
    ['parent id below 256', () => send('/x', { parent: 5 }), /options.parent must be a subvolume path or a subvolume id \(>= 256\), got number 5/],
    ['clone sources not an array', () => send('/x', { cloneSources: '/y' as unknown as string[] }), /options.cloneSources must be an array/],
    ['bad clone source', () => send('/x', { cloneSources: [''] }), /options.cloneSources\[0\] must be a subvolume path/],
    ['signal not an AbortSignal', () => send('/x', { signal: {} as AbortSignal }), /options.signal must be an AbortSignal/],
    ['highWaterMark zero', () => send('/x', { highWaterMark: 0 }), /options.highWaterMark must be a positive integer/],
    ['unknown option', () => send('/x', { parnet: '/y' } as object), /unknown option 'parnet'/],
    ['boolean option given a string', () => send('/x', { noFileData: 'yes' as unknown as boolean }), /options.noFileData must be a boolean/],
  ]
  test.each(cases)('%s', (_name, call, message) => {
    let thrown: unknown
    try {
      call()
    } catch (err) {
      thrown = err
    }
    expect(thrown).toBeInstanceOf(BtrfsError)
    expect((thrown as BtrfsError).code).toBe('BTRFS_INVALID_ARGUMENT')
    expect((thrown as Error).message).toMatch(message)
  })

  test('sendToFd rejects a target that is not an fd', async () => {
    await expect(sendToFd('/x', 'file' as unknown as number)).rejects.toMatchObject({ code: 'BTRFS_INVALID_ARGUMENT' })
  })
})

describeBtrfs('send() refusals', { size: '512M' }, (fs) => {
  let other: LoopBtrfs | undefined
  let ro: string
  let rw: string
  let roOther: string
  afterAll(() => destroyLoopBtrfs(other))
  beforeAll(() => {
    const mnt = fs().mnt
    rw = path.join(mnt, 'rw')
    sh('btrfs', ['subvolume', 'create', rw])
    mkdirSync(path.join(rw, 'plain-dir'))
    ro = path.join(mnt, 'ro')
    sh('btrfs', ['subvolume', 'snapshot', '-r', rw, ro])
    // A read-only subvolume that is not a snapshot of anything: no parent can be chosen for it.
    const lone = path.join(mnt, 'lone')
    sh('btrfs', ['subvolume', 'create', lone])
    roOther = path.join(mnt, 'lone-ro')
    sh('btrfs', ['subvolume', 'snapshot', '-r', lone, roOther])
    other = createLoopBtrfs({ size: '256M' })
    sh('btrfs', ['subvolume', 'create', path.join(other.mnt, 'x')])
    sh('btrfs', ['subvolume', 'snapshot', '-r', path.join(other.mnt, 'x'), path.join(other.mnt, 'x-ro')])
  })

  test('a writable subvolume: BTRFS_SEND_NOT_READONLY, checked before the ioctl', async () => {
    const err = await streamError(send(rw))
    expect(err.code).toBe('BTRFS_SEND_NOT_READONLY')
    expect(err.path).toBe(rw)
  })

  test('a writable parent: BTRFS_SEND_NOT_READONLY naming the parent', async () => {
    const err = await streamError(send(ro, { parent: rw }))
    expect(err.code).toBe('BTRFS_SEND_NOT_READONLY')
    expect(err.message).toMatch(/^parent '/)
  })

  test('not on btrfs: BTRFS_NOT_BTRFS', async () => {
    const err = await streamError(send(os.tmpdir()))
    expect(err.code).toBe('BTRFS_NOT_BTRFS')
  })

  test('a plain directory: BTRFS_NOT_SUBVOLUME', async () => {
    const err = await streamError(send(path.join(ro, 'plain-dir')))
    expect(err.code).toBe('BTRFS_NOT_SUBVOLUME')
  })

  test('a missing path: ENOENT as Node reports it', async () => {
    const err = await streamError(send(path.join(fs().mnt, 'nope')))
    expect(err.code).toBe('ENOENT')
  })

  test('a missing parent path: ENOENT', async () => {
    const err = await streamError(send(ro, { parent: path.join(fs().mnt, 'nope') }))
    expect(err.code).toBe('ENOENT')
  })

  test('a parent id that does not exist: BTRFS_SUBVOLUME_NOT_FOUND', async () => {
    const err = await streamError(send(ro, { parent: 999_999n }))
    expect(err.code).toBe('BTRFS_SUBVOLUME_NOT_FOUND')
    expect(err.message).toMatch(/999999/)
  })

  test('a clone source id that does not exist: BTRFS_SUBVOLUME_NOT_FOUND', async () => {
    const err = await streamError(send(ro, { cloneSources: [424_242] }))
    expect(err.code).toBe('BTRFS_SUBVOLUME_NOT_FOUND')
  })

  test('a parent on another filesystem: BTRFS_CROSS_FILESYSTEM', async () => {
    const err = await streamError(send(ro, { parent: path.join(other!.mnt, 'x-ro') }))
    expect(err.code).toBe('BTRFS_CROSS_FILESYSTEM')
  })

  test('subvolumes from two filesystems at once: BTRFS_CROSS_FILESYSTEM', async () => {
    const err = await streamError(send([ro, path.join(other!.mnt, 'x-ro')]))
    expect(err.code).toBe('BTRFS_CROSS_FILESYSTEM')
  })

  test('clone sources with nothing in common: BTRFS_SEND_NO_PARENT', async () => {
    const err = await streamError(send(ro, { cloneSources: [roOther] }))
    expect(err.code).toBe('BTRFS_SEND_NO_PARENT')
  })

  test('without CAP_SYS_ADMIN: BTRFS_PERMISSION_DENIED (the kernel would only say EPERM)', () => {
    const script = `
      const { send } = require(${JSON.stringify(distIndex)})
      send(${JSON.stringify(ro)}).on('error', (e) => { console.log(e.code); process.exit(0) }).resume()`
    const child = spawnSync('setpriv', ['--inh-caps=-all', '--bounding-set=-sys_admin', process.execPath, '-e', script], { encoding: 'utf8' })
    expect(child.stderr).toBe('')
    expect(child.stdout.trim()).toBe('BTRFS_PERMISSION_DENIED')
  })

  test('the kernel agrees: with the pre-checks bypassed, a writable subvolume gives EPERM', async () => {
    // Guards the premise of BTRFS_SEND_NOT_READONLY: the ioctl itself refuses a writable root.
    const { native } = await import('../../lib/native.js')
    const { openSubvolume } = await import('../../lib/subvolume/open.js')
    const subvol = await openSubvolume(rw)
    const [r, w] = native().pipe2()
    const errno = await new Promise<number>((resolve) =>
      native().startSend({ subvolFd: subvol.fd, sendFd: w, cloneSources: new BigUint64Array(), parentRoot: 0n, flags: 0, version: 0 }, resolve),
    )
    require('node:fs').closeSync(r)
    await subvol.handle.close()
    expect(errno).toBe(1)
  })
})
