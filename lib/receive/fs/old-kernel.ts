// The *at syscalls that newer kernels have and older ones lack, with the fallback each needs:
// fchmodat2 (6.6) and setxattrat/removexattrat (6.13) are tried first; on ENOSYS the choice is
// remembered and the fallback used for good. The fallbacks stay confined: chmod pins the leaf
// with O_PATH|O_NOFOLLOW, refuses a symlink and chmods /proc/self/fd/N; xattrs go through
// l*xattr on /proc/self/fd/<parent>/<leaf> (the parent reached through its fd, the leaf not
// followed).
import { chmodSync, closeSync, fstatSync } from 'node:fs'
import { constants as osc } from 'node:os'
import type { QueuedOps } from './queued-ops.js'
import { C, RESOLVE_CONFINED, sys } from './sys.js'

const E = osc.errno

export function errnoOf(err: unknown): number {
  const n = (err as { errno?: unknown }).errno
  return typeof n === 'number' ? -n : 0
}

function procPath(fd: number, leaf?: Buffer): Buffer {
  const base = Buffer.from(`/proc/self/fd/${fd}/`)
  return leaf ? Buffer.concat([base, leaf]) : Buffer.concat([base, Buffer.from('.')])
}

export class OldKernelFallbacks {
  readonly #ops: QueuedOps
  #xattratWorks = true
  #fchmodat2Works = true

  constructor(ops: QueuedOps) {
    this.#ops = ops
  }

  /** chmod of `leaf` in `dirFd` without following it. */
  chmodAt(dirFd: number, leaf: Buffer, mode: number): void {
    if (this.#fchmodat2Works) {
      try {
        return this.#ops.fchmodat2(dirFd, leaf, mode, C.AT_SYMLINK_NOFOLLOW)
      } catch (err) {
        if (errnoOf(err) !== E.ENOSYS) throw err
        this.#fchmodat2Works = false
      }
    }
    const pinned = sys.openat2(this.#ops.real(dirFd), leaf, C.O_PATH | C.O_NOFOLLOW, 0, RESOLVE_CONFINED)
    try {
      if (fstatSync(pinned).isSymbolicLink()) {
        throw Object.assign(new Error('chmod of a symlink'), { errno: -E.ELOOP, syscall: 'chmod' })
      }
      chmodSync(`/proc/self/fd/${pinned}`, mode)
    } finally {
      closeSync(pinned)
    }
  }

  /** setxattr on `leaf` in real directory fd `dirFd`, not following it. */
  setXattrAt(dirFd: number, leaf: Buffer, name: Buffer, value: Buffer): void {
    if (this.#xattratWorks) {
      try {
        return sys.setxattrat(dirFd, leaf, C.AT_SYMLINK_NOFOLLOW, name, value, 0)
      } catch (err) {
        if (errnoOf(err) !== E.ENOSYS) throw err
        this.#xattratWorks = false
      }
    }
    sys.lsetxattr(procPath(dirFd, leaf), name, value, 0)
  }

  /** removexattr on `leaf` in real directory fd `dirFd` (`root`: on dirFd itself). */
  removeXattrAt(dirFd: number, leaf: Buffer, root: boolean, name: Buffer): void {
    if (this.#xattratWorks) {
      try {
        return sys.removexattrat(dirFd, leaf, root ? C.AT_EMPTY_PATH : C.AT_SYMLINK_NOFOLLOW, name)
      } catch (err) {
        if (errnoOf(err) !== E.ENOSYS) throw err
        this.#xattratWorks = false
      }
    }
    sys.lremovexattr(procPath(dirFd, root ? undefined : leaf), name)
  }
}
