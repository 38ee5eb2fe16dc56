// The cached write fd (btrfs-progs' write_fd, made safe): one regular file kept open by its
// current stream path, reused by consecutive WRITE/CLONE/TRUNCATE/… and by chown/chmod/utimes/
// xattrs of the same path, so a new file costs no path lookups after MKFILE. Renames move the
// key (also for renamed ancestors), unlink/rmdir/replacement close it, so the fd always belongs
// to the inode the path names now. Opening checks the inode is a regular file before any
// open that could have side effects (a device node or FIFO is never opened for I/O).
import { closeSync } from 'node:fs'
import { constants as osc } from 'node:os'
import { errnoError } from '../errors.js'
import type { ConfinedTree } from './confined-tree.js'
import { displayPath } from './path-guard.js'
import { C, RESOLVE_CONFINED, sys } from './sys.js'

const AT_FDCWD = -100

/**
 * Opens the regular file at checked path `path` with `flags`. The leaf is first pinned with an
 * O_PATH|O_NOFOLLOW fd and checked with fstat; the real open reopens that very inode through
 * /proc/self/fd (falling back to a confined openat2 when /proc is absent).
 */
export function openRegular(tree: ConfinedTree, path: Buffer, flags: number): number {
  const { dirFd, leaf } = tree.at(path)
  return openRegularAt(dirFd, leaf, flags, path)
}

/** openRegular for a path (one or more components) below directory fd `dirFd`. */
export function openRegularAt(dirFd: number, leaf: Buffer, flags: number, path: Buffer = leaf): number {
  const pinned = sys.openat2(dirFd, leaf, C.O_PATH | C.O_NOFOLLOW, 0, RESOLVE_CONFINED)
  try {
    const type = sys.fstatOwner(pinned)[0] & C.S_IFMT
    if (type !== C.S_IFREG) {
      const errno = type === C.S_IFLNK ? osc.errno.ELOOP : type === C.S_IFDIR ? osc.errno.EISDIR : osc.errno.EINVAL
      throw errnoError(errno, { syscall: 'open', message: 'not a regular file', path: displayPath(path) })
    }
    try {
      return sys.openat2(AT_FDCWD, Buffer.from(`/proc/self/fd/${pinned}`), flags | C.O_NONBLOCK, 0, 0)
    } catch (err) {
      if ((err as { errno?: number }).errno !== -osc.errno.ENOENT) throw err
      return sys.openat2(dirFd, leaf, flags | C.O_NOFOLLOW | C.O_NONBLOCK, 0, RESOLVE_CONFINED)
    }
  } finally {
    closeSync(pinned)
  }
}

/**
 * What is known of the cached inode's attributes, so chown/chmod that would change nothing are
 * skipped (each is an inode update in btrfs). Filled lazily by fstat; `xattrs` records that an
 * xattr was set, after which chown is never skipped (it would clear security.capability).
 */
export interface InodeState {
  mode?: number
  uid?: number
  gid?: number
  xattrs: boolean
}

export class FileCache {
  readonly #tree: ConfinedTree
  /** The cached file's current stream path (a private copy), compared as bytes: no string per lookup. */
  #key: Buffer | undefined
  #fd = -1
  state: InodeState = { xattrs: false }

  constructor(tree: ConfinedTree) {
    this.#tree = tree
  }

  /** A writable fd of the regular file at `path` (opened and cached on a miss). */
  writable(path: Buffer): number {
    if (this.#key !== undefined && this.#key.equals(path)) return this.#fd
    const fd = openRegular(this.#tree, path, C.O_WRONLY)
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

  /** Fills uid/gid/mode of the cached inode from fstat when unknown. */
  known(): Required<Omit<InodeState, 'xattrs'>> & InodeState {
    if (this.state.uid === undefined || this.state.gid === undefined || this.state.mode === undefined) {
      const [mode, uid, gid] = sys.fstatOwner(this.#fd)
      this.state.uid = uid
      this.state.gid = gid
      this.state.mode = mode & 0o7777
    }
    return this.state as Required<Omit<InodeState, 'xattrs'>> & InodeState
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
    if (this.#fd >= 0) closeSync(this.#fd)
    this.#fd = -1
    this.#key = undefined
    this.state = { xattrs: false }
  }
}

/** Whether `path` lies strictly below directory path `dir` (`dir/…`). */
function isBelow(path: Buffer, dir: Buffer): boolean {
  return path.length > dir.length && path[dir.length] === 0x2f && path.compare(dir, 0, dir.length, 0, dir.length) === 0
}
