// The destination directory and its filesystem, seen from the worker: the directory fd every
// new subvolume is created in, the mount it lives on (from /proc/self/mountinfo), and the UUID
// lookups of parents and clone sources (received uuid first, then uuid, as btrfs receive does),
// opened through the mount with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV)
// and checked to be that very subvolume. So nothing outside this filesystem can be a source.
import { closeSync, readFileSync, realpathSync } from 'node:fs'
import path from 'node:path'
import { BtrfsError } from '../../errors.js'
import { idsByUuid, subvolumePath } from '../../subvolume/lookup.js'
import { openBtrfsDir, SUBVOL_ROOT_INO } from '../../subvolume/open.js'
import { nativeCall } from '../../subvolume/call.js'
import { formatUuid } from '../../uuid.js'
import { C, RESOLVE_CONFINED, sys } from './sys.js'

interface Mount {
  /** Where it is mounted. */
  point: string
  /** Path of the mounted subvolume inside the filesystem ('' for the top level). */
  root: string
}

function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)))
}

/** The btrfs mount that `dir` (a real path) lives on: the longest mount point above it. */
export function mountOf(dir: string): Mount | undefined {
  let best: (Mount & { btrfs: boolean }) | undefined
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const dash = line.indexOf(' - ')
    if (dash < 0) continue
    const left = line.slice(0, dash).split(' ')
    const point = unescapeMountinfo(left[4])
    const inside = point === '/' || dir === point || dir.startsWith(`${point}/`)
    // Later lines are mounted on top of earlier ones at the same point: >= keeps the last.
    if (!inside || (best && best.point.length > point.length)) continue
    const btrfs = line.slice(dash + 3).split(' ')[0] === 'btrfs'
    best = { point, root: unescapeMountinfo(left[3]).replace(/^\/+/, ''), btrfs }
  }
  return best?.btrfs ? { point: best.point, root: best.root } : undefined
}

export class Destination {
  readonly path: string
  readonly fd: number
  readonly #mount: Mount
  #mountFd = -1
  readonly #byUuid = new Map<string, { id: bigint; fd: number }>()

  private constructor(dir: string, fd: number, mount: Mount) {
    this.path = dir
    this.fd = fd
    this.#mount = mount
  }

  static async open(dest: string): Promise<Destination> {
    const handle = await openBtrfsDir(dest)
    const fd = handle.fd
    const real = realpathSync(dest)
    const mount = mountOf(real)
    if (!mount) {
      await handle.close()
      throw new BtrfsError('BTRFS_NOT_BTRFS', `cannot find the btrfs mount of '${dest}'`, { path: dest })
    }
    // Keep the fd past the FileHandle: the worker closes it with closeSync in close().
    const dup = sys.openat2(fd, Buffer.from('.'), C.O_RDONLY | C.O_DIRECTORY, 0, RESOLVE_CONFINED)
    await handle.close()
    return new Destination(real, dup, mount)
  }

  /**
   * Root fd of the subvolume whose received uuid, or else uuid, is `uuid` (cached; closed by
   * close()). BTRFS_RECEIVE_PARENT_NOT_FOUND names the uuid when there is none or it cannot be
   * reached through this mount.
   */
  async subvolumeByUuid(uuid: Buffer, role: 'parent' | 'clone source'): Promise<{ id: bigint; fd: number }> {
    const key = uuid.toString('hex')
    const hit = this.#byUuid.get(key)
    if (hit) return hit
    const text = formatUuid(uuid)
    let ids = await idsByUuid(this.fd, uuid, 'received')
    if (ids.length === 0) ids = await idsByUuid(this.fd, uuid, 'uuid')
    if (ids.length === 0) {
      throw new BtrfsError('BTRFS_RECEIVE_PARENT_NOT_FOUND', `cannot find ${role} subvolume ${text} on the destination filesystem`)
    }
    const id = ids[0]
    const top = await subvolumePath(this.fd, id)
    if (top === undefined) {
      throw new BtrfsError('BTRFS_RECEIVE_PARENT_NOT_FOUND', `${role} subvolume ${text} (id ${id}) is being deleted or has no path`)
    }
    const root = this.#mount.root
    let rel: string
    if (root === '') rel = top
    else if (top === root) rel = ''
    else if (top.startsWith(`${root}/`)) rel = top.slice(root.length + 1)
    else {
      throw new BtrfsError(
        'BTRFS_RECEIVE_PARENT_NOT_FOUND',
        `${role} subvolume ${text} ('${top}') is not reachable from the mounted subvolume '${root}' at ${this.#mount.point}; mount the top level`,
      )
    }
    if (this.#mountFd < 0) {
      this.#mountFd = sys.openat2(-100, Buffer.from(this.#mount.point), C.O_PATH | C.O_DIRECTORY, 0, 0)
    }
    const fd = sys.openat2(this.#mountFd, Buffer.from(rel === '' ? '.' : rel), C.O_RDONLY | C.O_DIRECTORY, 0, RESOLVE_CONFINED | C.RESOLVE_NO_XDEV)
    try {
      const { treeid } = await nativeCall(top, (n) => n.ioctlInoLookup(fd, 0n, SUBVOL_ROOT_INO))
      if (treeid !== id) throw new BtrfsError('BTRFS_RECEIVE_PARENT_NOT_FOUND', `${role} subvolume ${text}: '${top}' is no longer subvolume ${id}`)
    } catch (err) {
      closeSync(fd)
      throw err
    }
    const found = { id, fd }
    this.#byUuid.set(key, found)
    return found
  }

  /** Path of `name` inside the destination, for results and messages. */
  join(name: Buffer): string {
    return path.join(this.path, name.toString())
  }

  close(): void {
    for (const { fd } of this.#byUuid.values()) closeSync(fd)
    this.#byUuid.clear()
    if (this.#mountFd >= 0) closeSync(this.#mountFd)
    this.#mountFd = -1
    closeSync(this.fd)
  }
}
