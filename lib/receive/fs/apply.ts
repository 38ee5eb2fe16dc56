// Applies one file command of a send stream inside the subvolume being received: one case per
// command. Every path is checked lexically, then reached through ConfinedTree (parent via
// openat2 beneath the root) and acted on with *at syscalls that never follow the leaf; data goes
// through the cached write fd. Commands are applied strictly in stream order (chown before
// security.capability, UTIMES last). Synchronous except a clone whose source subvolume is looked
// up for the first time. What is not per command lives beside it: write gathering
// (write-gather.ts), old-kernel fallbacks (old-kernel.ts), encoded writes (encoded-write.ts),
// inode flags and the deferred ones (fileattr.ts).
import { constants as osc } from 'node:os'
import { internalError } from '../../errors.js'
import type { CloneCommand, Command, EnableVerityCommand, Timespec } from '../../stream/commands.js'
import { decodeDev } from '../../stream/values.js'
import { ConfinedTree } from './confined-tree.js'
import { EncodedWrites } from './encoded-write.js'
import { FileAttrs } from './fileattr.js'
import { FileCache, openRegular, openRegularAt } from './file-cache.js'
import { errnoOf, OldKernelFallbacks } from './old-kernel.js'
import { checkPath, pathProblem } from './path-guard.js'
import { QueuedOps } from './queued-ops.js'
import { C, RESOLVE_CONFINED, sys } from './sys.js'
import { WriteGatherer } from './write-gather.js'

export { FlushError } from './write-gather.js'

const E = osc.errno
const NO_DEV = { major: 0, minor: 0 }
/** Creation never grants more than this process's umask allows; read once (workers cannot set it). */
const UMASK = process.umask()

type CreateCommand = Extract<Command, { type: 'mkfile' | 'mkdir' | 'mknod' | 'mkfifo' | 'mksock' | 'symlink' }>

/** Commands of one inode's group the kernel sends between its rename and its CHMOD. */
const BEFORE_CHMOD = new Set(['write', 'clone', 'encoded_write', 'fallocate', 'truncate', 'chown', 'update_extent', 'set_xattr', 'remove_xattr'])

export interface ApplyContext {
  forceDecompress: boolean
  /** Stream uuid of the subvolume being received (a clone from it is a clone from ourselves). */
  subvolumeUuid: Buffer
  /** Root fd of the subvolume with this (received) uuid elsewhere on the filesystem. */
  cloneRoot(uuid: Buffer): number | Promise<number>
  warn(code: string, message: string): void
}

function signedSec(ts: Timespec): bigint {
  // On disk the seconds are a u64 holding an s64: pre-1970 times arrive as huge values.
  return BigInt.asIntN(64, ts.sec)
}

export class Applier {
  /** Every syscall of the file commands goes through here, queued or direct (queued-ops.ts). */
  readonly ops = new QueuedOps()
  readonly tree: ConfinedTree
  readonly files: FileCache
  readonly #ctx: ApplyContext
  readonly #writes: WriteGatherer
  readonly #fallbacks: OldKernelFallbacks
  readonly #encoded: EncodedWrites
  readonly #attrs: FileAttrs
  /** Clone source kept open for consecutive clones from the same file. */
  #cloneSrc: { key: string; fd: number } | undefined

  constructor(rootFd: number, ctx: ApplyContext) {
    this.tree = new ConfinedTree(rootFd, this.ops)
    this.files = new FileCache(this.tree, this.ops)
    this.#ctx = ctx
    this.#writes = new WriteGatherer(this.ops)
    this.#fallbacks = new OldKernelFallbacks(this.ops)
    this.#encoded = new EncodedWrites(this.ops, this.#writes, ctx.forceDecompress, ctx.warn)
    this.#attrs = new FileAttrs(this.ops, this.tree, this.files, ctx.warn)
  }

  /**
   * Applies `batch[i]` and returns how many commands it consumed: 2 when the command after it
   * was carried out together with it (a create followed by the rename of its orphan name, done
   * as one create: see #createFused), else 1. Returns a Promise only when it must wait (first
   * clone from another subvolume).
   */
  apply(batch: readonly Command[], i: number): number | Promise<number> {
    const cmd = batch[i]
    if (cmd.type !== 'write') this.#writes.flush()
    switch (cmd.type) {
      case 'mkfile':
      case 'mkdir':
      case 'mknod':
      case 'mkfifo':
      case 'mksock':
      case 'symlink': {
        checkPath(cmd.path, false)
        const next = batch[i + 1]
        if (next?.type === 'rename' && next.path.equals(cmd.path) && pathProblem(next.pathTo, false) === undefined) {
          if (this.#createFused(cmd, next.pathTo, batch, i)) return 2
        }
        this.#create(cmd, cmd.path, 0o600)
        return 1
      }
      case 'rename': {
        checkPath(cmd.pathTo, false, 'rename target')
        const from = this.#at(cmd.path)
        const to = this.tree.at(cmd.pathTo)
        this.ops.renameat2(from.dirFd, from.leaf, to.dirFd, to.leaf, 0)
        this.tree.invalidate(cmd.path)
        this.tree.invalidate(cmd.pathTo)
        this.files.renamed(cmd.path, cmd.pathTo)
        this.#attrs.renamed(cmd.path, cmd.pathTo)
        this.#dropCloneSource()
        return 1
      }
      case 'link': {
        checkPath(cmd.pathLink, false, 'link target')
        const existing = this.#at(cmd.pathLink)
        const created = this.#at(cmd.path)
        this.ops.linkat(existing.dirFd, existing.leaf, created.dirFd, created.leaf, 0)
        return 1
      }
      case 'unlink':
      case 'rmdir': {
        const { dirFd, leaf } = this.#at(cmd.path)
        this.ops.unlinkat(dirFd, leaf, cmd.type === 'rmdir' ? C.AT_REMOVEDIR : 0)
        // unlink without AT_REMOVEDIR never removes a directory (EISDIR), so no cached directory
        // fd can name what it removed; scanning the cache per UNLINK was measurable.
        if (cmd.type === 'rmdir') this.tree.invalidate(cmd.path)
        this.files.removed(cmd.path)
        this.#dropCloneSource()
        return 1
      }
      case 'set_xattr':
        this.#setXattr(cmd.path, cmd.xattrName, cmd.xattrData)
        return 1
      case 'remove_xattr':
        this.#removeXattr(cmd.path, cmd.xattrName)
        return 1
      case 'write': {
        // A gathered write to another file lands before that file's fd is closed for this one.
        const gathered = this.#writes.fd
        if (gathered >= 0 && this.files.peek(cmd.path) !== gathered) this.#writes.flush()
        const fd = this.#writable(cmd.path)
        // Writing clears setuid/setgid: forget a mode that has them.
        if (this.files.state.mode !== undefined && this.files.state.mode & 0o6000) this.files.state.mode = undefined
        this.#writes.add(fd, cmd.data, cmd.fileOffset, cmd)
        return 1
      }
      case 'clone': {
        const pending = this.#clone(cmd)
        return pending ? pending.then(() => 1) : 1
      }
      case 'truncate':
        this.ops.ftruncate(this.#writable(cmd.path), cmd.size)
        return 1
      case 'chmod':
        this.#chmod(cmd.path, cmd.mode & 0o7777)
        return 1
      case 'chown':
        this.#chown(cmd.path, cmd.uid, cmd.gid)
        return 1
      case 'utimes':
        this.#utimes(cmd.path, cmd.atime, cmd.mtime)
        return 1
      case 'update_extent':
        // Only in --no-data streams: there is no data to place (btrfs receive does nothing either).
        checkPath(cmd.path, false)
        return 1
      case 'fallocate':
        this.#fallocate(cmd.path, cmd.fallocateMode, cmd.fileOffset, cmd.size)
        return 1
      case 'fileattr':
        this.#attrs.apply(cmd)
        return 1
      case 'encoded_write':
        this.#encoded.write(this.#writable(cmd.path), cmd)
        return 1
      case 'enable_verity':
        this.#enableVerity(cmd)
        return 1
      case 'subvol':
      case 'snapshot':
      case 'end':
      case 'unknown':
        // The session handles the subvolume lifecycle, and receive's decoder refuses unknown
        // commands: none of these is ever routed here.
        throw internalError(`${cmd.type} reached the file applier`)
    }
  }

  /** Applies deferred IMMUTABLE/APPEND flags and closes every fd; the subvolume root fd stays open. */
  finish(): void {
    this.flush()
    this.files.close()
    this.#dropCloneSource()
    this.#attrs.finish()
    this.tree.close()
    this.ops.shutdown()
  }

  /**
   * After a QueueFailure: everything queued after the failed record was skipped, so every fd
   * cache (built assuming it ran) is dropped, and the session replays from the failed command.
   */
  recover(): void {
    this.#writes.drop()
    this.ops.recover()
    this.files.close()
    this.#dropCloneSource()
    this.tree.close()
  }

  /** Closes every fd without applying anything (error path). */
  close(): void {
    this.recover()
    this.#attrs.clear()
    this.ops.shutdown()
  }

  #at(path: Buffer): { dirFd: number; leaf: Buffer } {
    checkPath(path, false)
    return this.tree.at(path)
  }

  #writable(path: Buffer): number {
    checkPath(path, false)
    return this.files.writable(path)
  }

  /**
   * Writes what is gathered (see write-gather.ts). Must run before the input chunk the data
   * points into is reused (the session calls it at the end of every chunk); throws FlushError.
   */
  flush(): void {
    this.#writes.flush()
  }

  /** Creates the inode of a create command at `path` (a regular file gets permission bits `mode`). */
  #create(cmd: CreateCommand, path: Buffer, mode: number): void {
    const { dirFd, leaf } = this.tree.at(path)
    switch (cmd.type) {
      case 'mkfile': {
        const fd = this.ops.openat2(dirFd, leaf, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, mode, RESOLVE_CONFINED)
        this.files.adopt(path, fd, mode & ~UMASK)
        return
      }
      case 'mkdir':
        return this.ops.mkdirat(dirFd, leaf, 0o700)
      case 'mknod':
        return this.ops.mknodat(dirFd, leaf, cmd.mode & C.S_IFMT, decodeDev(cmd.rdev))
      case 'mkfifo':
        return this.ops.mknodat(dirFd, leaf, C.S_IFIFO | 0o600, NO_DEV)
      case 'mksock':
        return this.ops.mknodat(dirFd, leaf, C.S_IFSOCK | 0o600, NO_DEV)
      case 'symlink':
        // The target is data, stored verbatim and never resolved by us.
        return this.ops.symlinkat(cmd.pathLink, dirFd, leaf)
    }
  }

  /**
   * The kernel creates every inode under an orphan name and renames it right away (§2.3). When
   * the rename follows, create at the final name instead: one directory operation, not three.
   * A new file is also created with its final permission bits when its CHMOD is in sight and
   * needs no setuid/setgid (which a later CHOWN would clear), so that CHMOD becomes a no-op.
   * Returns false (nothing done) when the final name exists: then the plain sequence runs, with
   * the rename's replace semantics.
   */
  #createFused(cmd: CreateCommand, to: Buffer, batch: readonly Command[], i: number): boolean {
    let mode = 0o600
    if (cmd.type === 'mkfile') {
      for (let j = i + 2; j < batch.length; j++) {
        const c = batch[j]
        if (c.type === 'chmod' && c.path.equals(to)) {
          const m = c.mode & 0o7777
          if ((m & 0o6000) === 0 && (m & UMASK) === 0) mode = m
          break
        }
        if (!BEFORE_CHMOD.has(c.type) || !('path' in c) || !c.path.equals(to)) break
      }
    }
    try {
      this.#create(cmd, to, mode)
    } catch (err) {
      if (errnoOf(err) === E.EEXIST) return false
      throw err
    }
    // Nothing to invalidate: a cached directory at `to` would have made the create fail (EEXIST).
    return true
  }

  #chmod(path: Buffer, mode: number): void {
    checkPath(path, true)
    if (path.length === 0) return this.ops.fchmod(this.tree.rootFd, mode)
    const cached = this.files.peek(path)
    if (cached >= 0) {
      const state = this.files.state
      if (state.mode === mode) return
      this.ops.fchmod(cached, mode)
      state.mode = mode
      return
    }
    const { dirFd, leaf } = this.tree.at(path)
    this.#fallbacks.chmodAt(dirFd, leaf, mode)
  }

  #chown(path: Buffer, uid: number, gid: number): void {
    checkPath(path, true)
    if (path.length === 0) return this.ops.fchown(this.tree.rootFd, uid, gid)
    const cached = this.files.peek(path)
    if (cached >= 0) {
      const state = this.files.state
      // A chown known to change nothing is skipped, unless an xattr was set (chown clears
      // security.capability, and btrfs receive's result must be matched) or setuid/setgid may
      // be on. Owners are not looked up to find out: an fstat would cost as much as the chown.
      if (state.uid === uid && state.gid === gid && !state.xattrs && state.mode !== undefined && (state.mode & 0o6000) === 0) return
      this.ops.fchown(cached, uid, gid)
      state.uid = uid
      state.gid = gid
      // chown clears setuid (and setgid): a mode holding either is no longer known.
      if (state.mode !== undefined && state.mode & 0o6000) state.mode = undefined
      return
    }
    const { dirFd, leaf } = this.tree.at(path)
    this.ops.fchownat(dirFd, leaf, uid, gid, C.AT_SYMLINK_NOFOLLOW)
  }

  #utimes(path: Buffer, atime: Timespec, mtime: Timespec): void {
    checkPath(path, true)
    const a = signedSec(atime)
    const m = signedSec(mtime)
    if (path.length === 0) return this.ops.utimensat(this.tree.rootFd, null, a, atime.nsec, m, mtime.nsec, 0)
    const cached = this.files.peek(path)
    if (cached >= 0) return this.ops.utimensat(cached, null, a, atime.nsec, m, mtime.nsec, 0)
    const { dirFd, leaf } = this.tree.at(path)
    this.ops.utimensat(dirFd, leaf, a, atime.nsec, m, mtime.nsec, C.AT_SYMLINK_NOFOLLOW)
  }

  #setXattr(path: Buffer, name: Buffer, value: Buffer): void {
    checkPath(path, true)
    // Not queued (rarer than the other commands): real() runs what is queued first.
    if (path.length === 0) return sys.fsetxattr(this.ops.real(this.tree.rootFd), name, value, 0)
    const cached = this.files.peek(path)
    if (cached >= 0) {
      this.files.state.xattrs = true
      return sys.fsetxattr(this.ops.real(cached), name, value, 0)
    }
    const at = this.tree.at(path)
    this.#fallbacks.setXattrAt(this.ops.real(at.dirFd), at.leaf, name, value)
  }

  #removeXattr(path: Buffer, name: Buffer): void {
    checkPath(path, true)
    const root = path.length === 0
    const at = root ? { dirFd: this.tree.rootFd, leaf: path } : this.tree.at(path)
    this.#fallbacks.removeXattrAt(this.ops.real(at.dirFd), at.leaf, root, name)
  }

  #clone(cmd: CloneCommand): void | Promise<void> {
    checkPath(cmd.clonePath, false, 'clone source')
    const dst = this.#writable(cmd.path)
    if (cmd.cloneUuid.equals(this.#ctx.subvolumeUuid)) return this.#cloneFrom(dst, -1, cmd)
    const root = this.#ctx.cloneRoot(cmd.cloneUuid)
    if (typeof root === 'number') return this.#cloneFrom(dst, root, cmd)
    return root.then((fd) => this.#cloneFrom(this.#writable(cmd.path), fd, cmd))
  }

  /** srcRoot -1: the subvolume being received. */
  #cloneFrom(dst: number, srcRoot: number, cmd: CloneCommand): void {
    const key = `${srcRoot}:${cmd.clonePath.toString('latin1')}`
    if (this.#cloneSrc?.key !== key) {
      this.#dropCloneSource()
      const fd = srcRoot < 0
        ? openRegular(this.ops, this.tree, cmd.clonePath, C.O_RDONLY)
        : openRegularAt(this.ops, srcRoot, cmd.clonePath, C.O_RDONLY)
      this.#cloneSrc = { key, fd }
    }
    sys.ioctlCloneRange(this.ops.real(dst), this.ops.real(this.#cloneSrc!.fd), cmd.cloneOffset, cmd.cloneLen, cmd.fileOffset)
  }

  #dropCloneSource(): void {
    if (this.#cloneSrc) this.ops.close(this.#cloneSrc.fd)
    this.#cloneSrc = undefined
  }

  #fallocate(path: Buffer, mode: number, offset: number, len: number): void {
    const fd = this.#writable(path)
    try {
      sys.fallocate(this.ops.real(fd), mode, offset, len)
    } catch (err) {
      // A destination that cannot punch holes gets zeroes, which read the same.
      if (errnoOf(err) !== E.EOPNOTSUPP || (mode & C.FALLOC_FL_PUNCH_HOLE) === 0) throw err
      const zeros = Buffer.alloc(Math.min(len, 1 << 20))
      for (let done = 0; done < len; done += zeros.length) {
        this.#writes.add(fd, zeros.subarray(0, Math.min(zeros.length, len - done)), offset + done)
      }
    }
  }

  #enableVerity(cmd: EnableVerityCommand): void {
    checkPath(cmd.path, false)
    // FS_IOC_ENABLE_VERITY fails with ETXTBSY while any writable fd of the inode is open.
    this.files.close()
    const fd = openRegular(this.ops, this.tree, cmd.path, C.O_RDONLY)
    try {
      sys.ioctlEnableVerity(this.ops.real(fd), cmd.verityAlgorithm, cmd.verityBlockSize, cmd.veritySaltData, cmd.veritySigData)
    } finally {
      this.ops.close(fd)
    }
  }
}
