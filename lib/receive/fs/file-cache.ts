// The cached write fd (btrfs-progs' write_fd, made safe): one regular file kept open by its
// current stream path, reused by consecutive WRITE/CLONE/TRUNCATE/… and by chown/chmod/utimes/
// xattrs of the same path, so a new file costs no path lookups after MKFILE. Renames move the
// key (also for renamed ancestors), unlink/rmdir/replacement close it, so the fd always belongs
// to the inode the path names now. Opening checks the inode is a regular file before any
// open that could have side effects (a device node or FIFO is never opened for I/O).
import { constants as osc } from 'node:os'
import type { ConfinedTree } from './confined-tree.js'
import type { QueuedOps } from './queued-ops.js'
import { C, RESOLVE_CONFINED } from './sys.js'

/**
 * Opens the regular file at checked path `path` with `flags`. The leaf is first pinned with an
 * O_PATH|O_NOFOLLOW fd and checked to be a regular file; the real open reopens that very inode
 * through /proc/self/fd (falling back to a confined openat2 when /proc is absent), so a device
 * node or FIFO is never opened for I/O. Queued, all four steps run in order on the queue's thread.
 */
export function openRegular(ops: QueuedOps, tree: ConfinedTree, path: Buffer, flags: number): number {
  const { dirFd, leaf } = tree.at(path)
  return openRegularAt(ops, dirFd, leaf, flags, path)
}

/** openRegular for a path (one or more components) below directory fd `dirFd`. */
export function openRegularAt(ops: QueuedOps, dirFd: number, leaf: Buffer, flags: number, path: Buffer = leaf): number {
  const pinned = ops.openat2(dirFd, leaf, C.O_PATH | C.O_NOFOLLOW, 0, RESOLVE_CONFINED)
  try {
    ops.requireRegular(pinned, path)
    try {
      return ops.reopen(pinned, flags | C.O_NONBLOCK)
    } catch (err) {
      if ((err as { errno?: number }).errno !== -osc.errno.ENOENT) throw err
      return ops.openat2(dirFd, leaf, flags | C.O_NOFOLLOW | C.O_NONBLOCK, 0, RESOLVE_CONFINED)
    }
  } finally {
    ops.close(pinned)
  }
}

/**
 * What is known of the cached inode's attributes, so chown/chmod that would change nothing are
 * skipped (each is an inode update in btrfs). Known from our own create, chmod and chown, never
 * looked up; `xattrs` records that an xattr was set, after which chown is never skipped (it
 * would clear security.capability).
 */
export interface InodeState {
  mode?: number
  uid?: number
  gid?: number
  xattrs: boolean
}

export class FileCache {
  readonly #tree: ConfinedTree
  readonly #ops: QueuedOps
  /** The cached file's current stream path (a private copy), compared as bytes: no string per lookup. */
  #key: Buffer | undefined
  #fd = -1
  state: InodeState = { xattrs: false }

  constructor(tree: ConfinedTree, ops: QueuedOps) {
    this.#tree = tree
    this.#ops = ops
  }

  /** A writable fd of the regular file at `path` (opened and cached on a miss). */
  writable(path: Buffer): number {
    if (this.#key !== undefined && this.#key.equals(path)) return this.#fd
    const fd = openRegular(this.#ops, this.#tree, path, C.O_WRONLY)
    this.close()
    this.#key = Buffer.from(path)
    this.#fd = fd
    return fd
  }

  /** Takes ownership of `fd`, just created at `path` with permission bits `mode`. */
  adopt(path: Buffer, fd: number, mode: number): void {
    this.close()
    this.#key = Buffer.from(path)
    this.#fd = fd
    this.state.mode = mode
  }

  /** The cached fd when it belongs to `path`, else -1. */
  peek(path: Buffer): number {
    return this.#key !== undefined && this.#key.equals(path) ? this.#fd : -1
  }

  /** `from` was renamed to `to`: follow it, and drop an fd whose name `to` replaced. */
  renamed(from: Buffer, to: Buffer): void {
    const key = this.#key
    if (key === undefined) return
    if (key.equals(from)) this.#key = Buffer.from(to)
    else if (isBelow(key, from)) this.#key = Buffer.concat([to, key.subarray(from.length)])
    else if (key.equals(to) || isBelow(key, to)) this.close()
  }

  /** `path` (and anything below it) no longer names what it did. */
  removed(path: Buffer): void {
    const key = this.#key
    if (key !== undefined && (key.equals(path) || isBelow(key, path))) this.close()
  }

  close(): void {
    if (this.#fd >= 0) this.#ops.close(this.#fd)
    this.#fd = -1
    this.#key = undefined
    this.state = { xattrs: false }
  }
}

/** Whether `path` lies strictly below directory path `dir` (`dir/…`). */
function isBelow(path: Buffer, dir: Buffer): boolean {
  return path.length > dir.length && path[dir.length] === 0x2f && path.compare(dir, 0, dir.length, 0, dir.length) === 0
}
