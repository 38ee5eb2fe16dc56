// FILEATTR: inode flags set with FS_IOC_SETFLAGS, and the deferred ones. IMMUTABLE and APPEND
// would make the inode's later commands fail, so they are kept (by path, following renames)
// and applied when the subvolume is finished. Deferred flags are state a replay could not
// rebuild, so the first FILEATTR turns the syscall queue off for the rest of the subvolume.
import type { FileattrCommand } from '../../stream/commands.js'
import type { ConfinedTree } from './confined-tree.js'
import { openRegular, type FileCache } from './file-cache.js'
import { btrfsFlagsToFsFlags, DEFERRED_FS_FLAGS, MANAGED_FS_FLAGS } from './inode-flags.js'
import { errnoOf } from './old-kernel.js'
import { checkPath, displayPath } from './path-guard.js'
import type { QueuedOps } from './queued-ops.js'
import { C, RESOLVE_CONFINED, sys } from './sys.js'
import { constants as osc } from 'node:os'

const E = osc.errno

export class FileAttrs {
  readonly #ops: QueuedOps
  readonly #tree: ConfinedTree
  readonly #files: FileCache
  readonly #warn: (code: string, message: string) => void
  /** IMMUTABLE/APPEND flags by path, applied by finish(). */
  readonly #deferred = new Map<string, { path: Buffer; flags: number }>()

  constructor(ops: QueuedOps, tree: ConfinedTree, files: FileCache, warn: (code: string, message: string) => void) {
    this.#ops = ops
    this.#tree = tree
    this.#files = files
    this.#warn = warn
  }

  apply(cmd: FileattrCommand): void {
    checkPath(cmd.path, true)
    this.#ops.stopBatching()
    const fsFlags = btrfsFlagsToFsFlags(cmd.fileattr)
    this.#set(cmd.path, fsFlags & ~DEFERRED_FS_FLAGS, false)
    const key = cmd.path.toString('latin1')
    if (fsFlags & DEFERRED_FS_FLAGS) this.#deferred.set(key, { path: Buffer.from(cmd.path), flags: fsFlags })
    else this.#deferred.delete(key)
  }

  /** `from` was renamed to `to`: deferred flags follow, those of what `to` replaced go. */
  renamed(from: Buffer, to: Buffer): void {
    if (this.#deferred.size === 0) return
    const f = from.toString('latin1')
    const t = to.toString('latin1')
    for (const [key, entry] of [...this.#deferred]) {
      if (key === t || key.startsWith(`${t}/`)) this.#deferred.delete(key)
      if (key !== f && !key.startsWith(`${f}/`)) continue
      this.#deferred.delete(key)
      const moved = t + key.slice(f.length)
      this.#deferred.set(moved, { path: Buffer.from(moved, 'latin1'), flags: entry.flags })
    }
  }

  /** Applies the deferred flags (the subvolume is complete). */
  finish(): void {
    for (const { path, flags } of this.#deferred.values()) this.#set(path, flags, true)
    this.#deferred.clear()
  }

  /** Forgets the deferred flags (error path). */
  clear(): void {
    this.#deferred.clear()
  }

  /** FS_IOC_SETFLAGS on a regular file or directory; other types only take NODUMP/NOATIME and are skipped. */
  #set(path: Buffer, fsFlags: number, includeDeferred: boolean): void {
    const ops = this.#ops
    let fd: number
    let owned = true
    if (path.length === 0) {
      fd = this.#tree.rootFd
      owned = false
    } else {
      const cached = this.#files.peek(path)
      if (cached >= 0) {
        fd = cached
        owned = false
      } else {
        try {
          fd = sys.openat2(ops.real(this.#tree.rootFd), path, C.O_RDONLY | C.O_DIRECTORY, 0, RESOLVE_CONFINED)
        } catch (err) {
          if (errnoOf(err) !== E.ENOTDIR) throw err
          try {
            fd = openRegular(ops, this.#tree, path, C.O_RDONLY)
            ops.real(fd)
          } catch (err2) {
            if (errnoOf(err2) !== E.EINVAL && errnoOf(err2) !== E.ELOOP) throw err2
            this.#warn('BTRFS_RECEIVE_FILEATTR_SKIPPED', `inode flags not applied to special file '${displayPath(path)}'`)
            return
          }
        }
      }
    }
    try {
      const real = ops.real(fd)
      const old = sys.ioctlGetInodeFlags(real)
      const managed = includeDeferred ? MANAGED_FS_FLAGS : MANAGED_FS_FLAGS & ~DEFERRED_FS_FLAGS
      const next = ((old & ~managed) | (fsFlags & managed)) >>> 0
      if (next !== old) sys.ioctlSetInodeFlags(real, next)
    } finally {
      if (owned) ops.close(fd)
    }
  }
}
