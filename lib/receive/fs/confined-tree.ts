// Resolves checked stream paths beneath the subvolume root: each parent directory is opened with
// openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS) from the root fd, and the
// caller then acts on (dirFd, leaf) with *at syscalls that do not follow the leaf. The fds may be
// virtual (queued-ops.ts): opened in order by the syscall queue. Parent fds are
// cached by path (O_PATH, small LRU); any rename, rmdir or unlink of a path drops the cached
// entries at and below it, so a cached fd always means the directory that path names now.
import type { QueuedOps } from './queued-ops.js'
import { C, RESOLVE_CONFINED } from './sys.js'

const SLASH = 0x2f

const MAX_CACHED_DIRS = 64

export class ConfinedTree {
  readonly rootFd: number
  readonly #ops: QueuedOps
  #dirs = new Map<string, number>()
  /** The most recently used key: consecutive commands mostly share a parent. */
  #last: string | undefined

  constructor(rootFd: number, ops: QueuedOps) {
    this.rootFd = rootFd
    this.#ops = ops
  }

  /** An fd of directory `dir` ('' = the root), valid until the next invalidate()/close(). */
  dir(dir: Buffer): number {
    if (dir.length === 0) return this.rootFd
    return this.#dir(dir, dir.length)
  }

  /** The fd of directory path[0, end). */
  #dir(path: Buffer, end: number): number {
    const key = path.toString('latin1', 0, end)
    const hit = this.#dirs.get(key)
    if (hit !== undefined) {
      // Refresh its LRU position (already the newest when it was the last one used).
      if (key !== this.#last) {
        this.#dirs.delete(key)
        this.#dirs.set(key, hit)
        this.#last = key
      }
      return hit
    }
    const fd = this.#ops.openat2(this.rootFd, path.subarray(0, end), C.O_PATH | C.O_DIRECTORY, 0, RESOLVE_CONFINED)
    if (this.#dirs.size >= MAX_CACHED_DIRS) {
      const [oldKey, oldFd] = this.#dirs.entries().next().value as [string, number]
      this.#dirs.delete(oldKey)
      this.#ops.close(oldFd)
    }
    this.#dirs.set(key, fd)
    this.#last = key
    return fd
  }

  /** The parent directory fd and leaf name of a checked non-root path. */
  at(path: Buffer): { dirFd: number; leaf: Buffer } {
    // One of these per path operation: the key is sliced straight from the path, with no
    // intermediate parent Buffer.
    const i = path.lastIndexOf(SLASH)
    if (i < 0) return { dirFd: this.rootFd, leaf: path }
    return { dirFd: this.#dir(path, i), leaf: path.subarray(i + 1) }
  }

  /** Forgets `path` and everything below it (after it was renamed, removed or replaced). */
  invalidate(path: Buffer): void {
    if (this.#dirs.size === 0) return
    const key = path.toString('latin1')
    const prefix = `${key}/`
    for (const [k, fd] of this.#dirs) {
      if (k === key || k.startsWith(prefix)) {
        this.#dirs.delete(k)
        this.#ops.close(fd)
        if (k === this.#last) this.#last = undefined
      }
    }
  }

  close(): void {
    for (const fd of this.#dirs.values()) this.#ops.close(fd)
    this.#dirs.clear()
    this.#last = undefined
  }
}
