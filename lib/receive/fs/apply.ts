// Applies one file command of a send stream inside the subvolume being received: one method per
// command (the btrfs_send_ops table of btrfs-progs as a TS object). Every path is checked
// lexically, then reached through ConfinedTree (parent via openat2 beneath the root) and acted on
// with *at syscalls that never follow the leaf; data goes through the cached write fd. Commands
// are applied strictly in stream order (chown before security.capability, UTIMES last).
// Synchronous except a clone whose source subvolume is looked up for the first time.
import { chmodSync, closeSync, fstatSync } from 'node:fs'
import { constants as osc } from 'node:os'
import { BtrfsError } from '../../errors.js'
import type {
  CloneCommand,
  Command,
  EncodedWriteCommand,
  EnableVerityCommand,
  FileattrCommand,
  Timespec,
} from '../../stream/commands.js'
import { ConfinedTree } from './confined-tree.js'
import { compressionName, decompressExtent } from '../codecs/decompress.js'
import { FileCache, openRegular, openRegularAt } from './file-cache.js'
import { checkPath, displayPath, pathProblem } from './path-guard.js'
import { QueuedOps } from './queued-ops.js'
import { C, RESOLVE_CONFINED, sys } from './sys.js'
import { btrfsFlagsToFsFlags, DEFERRED_FS_FLAGS, MANAGED_FS_FLAGS } from './inode-flags.js'

const E = osc.errno
const FALLOC_FL_PUNCH_HOLE = 0x02
/** Consecutive contiguous WRITEs to one file are gathered into one pwritev of up to this. */
const MAX_GATHERED_WRITE = 2 * 1024 * 1024
/** Creation never grants more than this process's umask allows; read once (workers cannot set it). */
const UMASK = process.umask()

type CreateCommand = Extract<Command, { type: 'mkfile' | 'mkdir' | 'mknod' | 'mkfifo' | 'mksock' | 'symlink' }>

/** Commands of one inode's group the kernel sends between its rename and its CHMOD (FORMAT.md §2.9). */
const BEFORE_CHMOD = new Set(['write', 'clone', 'encoded_write', 'fallocate', 'truncate', 'chown', 'update_extent', 'set_xattr', 'remove_xattr'])
/** Largest decompressed extent accepted in the fallback (btrfs's own limit is 128 KiB). */
const MAX_UNENCODED_LEN = 8 * 1024 * 1024

export interface ApplyContext {
  forceDecompress: boolean
  /** Stream uuid of the subvolume being received (a clone from it is a clone from ourselves). */
  subvolumeUuid: Buffer
  /** Root fd of the subvolume with this (received) uuid elsewhere on the filesystem. */
  cloneRoot(uuid: Buffer): number | Promise<number>
  warn(code: string, message: string): void
}

function errnoOf(err: unknown): number {
  const n = (err as { errno?: unknown }).errno
  return typeof n === 'number' ? -n : 0
}

function signedSec(ts: Timespec): bigint {
  // On disk the seconds are a u64 holding an s64: pre-1970 times arrive as huge values.
  return BigInt.asIntN(64, ts.sec)
}

function procPath(fd: number, leaf?: Buffer): Buffer {
  const base = Buffer.from(`/proc/self/fd/${fd}/`)
  return leaf ? Buffer.concat([base, leaf]) : Buffer.concat([base, Buffer.from('.')])
}

export class Applier {
  /** Every syscall of the file commands goes through here, queued or direct (queued-ops.ts). */
  readonly ops = new QueuedOps()
  readonly tree: ConfinedTree
  readonly files: FileCache
  readonly #ctx: ApplyContext
  #xattratWorks = true
  #fchmodat2Works = true
  #encodedWorks = true
  #pending: { fd: number; offset: number; parts: Uint8Array[]; length: number; cmd?: Command; tag: number } | undefined
  /** Clone source kept open for consecutive clones from the same file. */
  #cloneSrc: { key: string; fd: number } | undefined
  /** IMMUTABLE/APPEND flags, applied when the subvolume is finished (they would block later commands). */
  readonly #deferredFlags = new Map<string, { path: Buffer; flags: number }>()

  constructor(rootFd: number, ctx: ApplyContext) {
    this.tree = new ConfinedTree(rootFd, this.ops)
    this.files = new FileCache(this.tree, this.ops)
    this.#ctx = ctx
  }

  /**
   * Set by apply() when it also carried out the command after `cmd` (see #createFused); the
   * caller then skips that one.
   */
  fused = false

  /**
   * Applies `cmd`; returns a Promise only when it must wait (first clone from another
   * subvolume). `batch[i]` is `cmd` when the caller has the commands around it: they let a
   * create followed by the rename of its orphan name be done as one create (see #createFused).
   */
  apply(cmd: Command, batch?: readonly Command[], i = 0): void | Promise<void> {
    if (cmd.type !== 'write' && this.#pending) this.flush()
    switch (cmd.type) {
      case 'mkfile':
      case 'mkdir':
      case 'mknod':
      case 'mkfifo':
      case 'mksock':
      case 'symlink': {
        checkPath(cmd.path, false)
        const next = batch?.[i + 1]
        if (next?.type === 'rename' && next.path.equals(cmd.path) && pathProblem(next.pathTo, false) === undefined) {
          if (this.#createFused(cmd, next.pathTo, batch!, i)) {
            this.fused = true
            return
          }
        }
        this.#create(cmd, cmd.path, 0o600)
        return
      }
      case 'rename': {
        checkPath(cmd.pathTo, false, 'rename target')
        const from = this.#at(cmd.path)
        const to = this.tree.at(cmd.pathTo)
        this.ops.renameat2(from.dirFd, from.leaf, to.dirFd, to.leaf, 0)
        this.tree.invalidate(cmd.path)
        this.tree.invalidate(cmd.pathTo)
        this.files.renamed(cmd.path, cmd.pathTo)
        this.#renameDeferred(cmd.path, cmd.pathTo)
        this.#dropCloneSource()
        return
      }
      case 'link': {
        checkPath(cmd.pathLink, false, 'link target')
        const existing = this.#at(cmd.pathLink)
        const created = this.#at(cmd.path)
        this.ops.linkat(existing.dirFd, existing.leaf, created.dirFd, created.leaf, 0)
        return
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
        return
      }
      case 'set_xattr':
        return this.#setXattr(cmd.path, cmd.xattrName, cmd.xattrData)
      case 'remove_xattr':
        return this.#removeXattr(cmd.path, cmd.xattrName)
      case 'write': {
        // A gathered write to another file lands before that file's fd is closed for this one.
        if (this.#pending && this.files.peek(cmd.path) !== this.#pending.fd) this.flush()
        const fd = this.#writable(cmd.path)
        // Writing clears setuid/setgid: forget a mode that has them.
        if (this.files.state.mode !== undefined && this.files.state.mode & 0o6000) this.files.state.mode = undefined
        return this.#write(fd, cmd.data, cmd.fileOffset, cmd)
      }
      case 'clone':
        return this.#clone(cmd)
      case 'truncate':
        this.ops.ftruncate(this.#writable(cmd.path), cmd.size)
        return
      case 'chmod':
        return this.#chmod(cmd.path, cmd.mode & 0o7777)
      case 'chown':
        return this.#chown(cmd.path, cmd.uid, cmd.gid)
      case 'utimes':
        return this.#utimes(cmd.path, cmd.atime, cmd.mtime)
      case 'update_extent':
        // Only in --no-data streams: there is no data to place (btrfs receive does nothing either).
        checkPath(cmd.path, false)
        return
      case 'fallocate':
        return this.#fallocate(cmd.path, cmd.fallocateMode, cmd.fileOffset, cmd.size)
      case 'fileattr':
        return this.#fileattr(cmd)
      case 'encoded_write':
        return this.#encodedWrite(cmd)
      case 'enable_verity':
        return this.#enableVerity(cmd)
      case 'unknown':
        this.#ctx.warn('BTRFS_RECEIVE_UNKNOWN_COMMAND', `skipped unknown command ${cmd.cmd}`)
        return
      case 'subvol':
      case 'snapshot':
      case 'end':
        // Handled by the session (subvolume lifecycle), never routed here.
        throw new Error(`internal: ${cmd.type} reached the file applier`)
    }
  }

  /** Applies deferred IMMUTABLE/APPEND flags and closes every fd; the subvolume root fd stays open. */
  finish(): void {
    this.flush()
    this.files.close()
    this.#dropCloneSource()
    for (const { path, flags } of this.#deferredFlags.values()) this.#setInodeFlags(path, flags, true)
    this.#deferredFlags.clear()
    this.tree.close()
    this.ops.shutdown()
  }

  /**
   * After a QueueFailure: everything queued after the failed record was skipped, so every fd
   * cache (built assuming it ran) is dropped, and the session replays from the failed command.
   */
  recover(): void {
    this.#pending = undefined
    this.ops.recover()
    this.files.close()
    this.#dropCloneSource()
    this.tree.close()
  }

  /** Closes every fd without applying anything (error path). */
  close(): void {
    this.recover()
    this.#deferredFlags.clear()
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

  /** Queues a write: contiguous writes to the same fd are gathered until flush(). */
  #write(fd: number, data: Uint8Array, offset: number, cmd?: Command): void {
    const p = this.#pending
    if (p && p.fd === fd && p.offset + p.length === offset && p.length + data.length <= MAX_GATHERED_WRITE) {
      p.parts.push(data)
      p.length += data.length
      return
    }
    if (p) this.flush()
    this.#pending = { fd, offset, parts: [data], length: data.length, cmd, tag: this.ops.tag }
  }

  /**
   * Writes what #write gathered. Must run before the input chunk the data points into is reused
   * (the session calls it at the end of every batch) and before any other command.
   */
  flush(): void {
    const p = this.#pending
    if (!p) return
    this.#pending = undefined
    let parts = p.parts
    let done = 0
    // Queued, the write belongs to the WRITE that started the gathered range.
    const tag = this.ops.tag
    this.ops.tag = p.tag
    try {
      while (done < p.length) {
        const n = this.ops.pwritev(p.fd, parts, p.offset + done)
        if (n === 0) throw Object.assign(new Error('pwrite wrote nothing'), { errno: -E.EIO, syscall: 'pwrite' })
        done += n
        if (done < p.length) parts = remaining(parts, n)
      }
    } catch (err) {
      // Reported against the WRITE that started the gathered range, not the command that flushed it.
      throw new FlushError(err, p.cmd)
    } finally {
      this.ops.tag = tag
    }
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
        return this.ops.mknodat(dirFd, leaf, cmd.mode & C.S_IFMT, cmd.rdev)
      case 'mkfifo':
        return this.ops.mknodat(dirFd, leaf, C.S_IFIFO | 0o600, 0n)
      case 'mksock':
        return this.ops.mknodat(dirFd, leaf, C.S_IFSOCK | 0o600, 0n)
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
    if (this.#fchmodat2Works) {
      try {
        return this.ops.fchmodat2(dirFd, leaf, mode, C.AT_SYMLINK_NOFOLLOW)
      } catch (err) {
        if (errnoOf(err) !== E.ENOSYS) throw err
        this.#fchmodat2Works = false
      }
    }
    // Kernels before 6.6: pin the inode without following, refuse a symlink, chmod the pinned inode.
    const pinned = sys.openat2(this.ops.real(dirFd), leaf, C.O_PATH | C.O_NOFOLLOW, 0, RESOLVE_CONFINED)
    try {
      if (fstatSync(pinned).isSymbolicLink()) {
        throw Object.assign(new Error('chmod of a symlink'), { errno: -E.ELOOP, syscall: 'chmod' })
      }
      chmodSync(`/proc/self/fd/${pinned}`, mode)
    } finally {
      closeSync(pinned)
    }
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
    const dirFd = this.ops.real(at.dirFd)
    const leaf = at.leaf
    if (this.#xattratWorks) {
      try {
        return sys.setxattrat(dirFd, leaf, C.AT_SYMLINK_NOFOLLOW, name, value, 0)
      } catch (err) {
        if (errnoOf(err) !== E.ENOSYS) throw err
        this.#xattratWorks = false
      }
    }
    // Before 6.13: the parent is reached through its fd's magic link, the leaf is not followed.
    sys.lsetxattr(procPath(dirFd, leaf), name, value, 0)
  }

  #removeXattr(path: Buffer, name: Buffer): void {
    checkPath(path, true)
    const root = path.length === 0
    const at = root ? { dirFd: this.tree.rootFd, leaf: path } : this.tree.at(path)
    const dirFd = this.ops.real(at.dirFd)
    const leaf = at.leaf
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
      // A destination that cannot punch holes gets zeroes, which read the same (FORMAT.md §6.4).
      if (errnoOf(err) !== E.EOPNOTSUPP || (mode & FALLOC_FL_PUNCH_HOLE) === 0) throw err
      const zeros = Buffer.alloc(Math.min(len, 1 << 20))
      for (let done = 0; done < len; done += zeros.length) {
        this.#write(fd, zeros.subarray(0, Math.min(zeros.length, len - done)), offset + done)
      }
    }
  }

  #encodedWrite(cmd: EncodedWriteCommand): void {
    const fd = this.#writable(cmd.path)
    const compression = cmd.compression ?? 0
    const encryption = cmd.encryption ?? 0
    if (encryption !== 0) {
      throw new BtrfsError('BTRFS_RECEIVE_NOT_SUPPORTED', `encoded write with encryption ${encryption} is not supported`)
    }
    if (!this.#ctx.forceDecompress && this.#encodedWorks) {
      try {
        this.ops.encodedWrite(fd, cmd.data, cmd.fileOffset, cmd.unencodedFileLen, cmd.unencodedLen, cmd.unencodedOffset, compression, encryption)
        return
      } catch (err) {
        const errno = errnoOf(err)
        // btrfs receive falls back on exactly these; anything else is a real failure.
        if (errno !== E.ENOSPC && errno !== E.ENOTTY && errno !== E.EINVAL && errno !== E.EPERM && errno !== E.EOPNOTSUPP) throw err
        if (errno === E.ENOTTY || errno === E.EPERM || errno === E.EOPNOTSUPP) {
          this.#encodedWorks = false
          this.#ctx.warn('BTRFS_RECEIVE_ENCODED_WRITE_FALLBACK', `encoded writes unavailable (${errno === E.EPERM ? 'EPERM' : 'ENOTTY'}): decompressing instead`)
        }
      }
    }
    const { unencodedLen, unencodedOffset, unencodedFileLen } = cmd
    if (unencodedLen > MAX_UNENCODED_LEN || unencodedOffset + unencodedFileLen > unencodedLen) {
      throw new BtrfsError(
        'BTRFS_RECEIVE_COMMAND_FAILED',
        `encoded write ranges do not fit: unencoded_len ${unencodedLen}, offset ${unencodedOffset}, file_len ${unencodedFileLen}`,
      )
    }
    let plain: Buffer
    try {
      plain = decompressExtent(compression, cmd.data, unencodedLen)
    } catch (cause) {
      throw new BtrfsError('BTRFS_RECEIVE_COMMAND_FAILED', `cannot decompress ${compressionName(compression)} extent: ${(cause as Error).message}`, { cause })
    }
    this.#write(fd, plain.subarray(unencodedOffset, unencodedOffset + unencodedFileLen), cmd.fileOffset)
  }

  #fileattr(cmd: FileattrCommand): void {
    checkPath(cmd.path, true)
    // Deferred flags are state a replay could not rebuild (queued-ops.ts): from the first
    // FILEATTR on, this subvolume's commands run unbatched.
    this.ops.stopBatching()
    const fsFlags = btrfsFlagsToFsFlags(cmd.fileattr)
    const now = fsFlags & ~DEFERRED_FS_FLAGS
    this.#setInodeFlags(cmd.path, now, false)
    const key = cmd.path.toString('latin1')
    if (fsFlags & DEFERRED_FS_FLAGS) this.#deferredFlags.set(key, { path: Buffer.from(cmd.path), flags: fsFlags })
    else this.#deferredFlags.delete(key)
  }

  /** FS_IOC_SETFLAGS on a regular file or directory; other types only take NODUMP/NOATIME and are skipped. */
  #setInodeFlags(path: Buffer, fsFlags: number, includeDeferred: boolean): void {
    let fd: number
    let owned = true
    if (path.length === 0) {
      fd = this.tree.rootFd
      owned = false
    } else {
      const cached = this.files.peek(path)
      if (cached >= 0) {
        fd = cached
        owned = false
      } else {
        try {
          fd = sys.openat2(this.ops.real(this.tree.rootFd), path, C.O_RDONLY | C.O_DIRECTORY, 0, RESOLVE_CONFINED)
        } catch (err) {
          if (errnoOf(err) !== E.ENOTDIR) throw err
          try {
            fd = openRegular(this.ops, this.tree, path, C.O_RDONLY)
            this.ops.real(fd)
          } catch (err2) {
            if (errnoOf(err2) !== E.EINVAL && errnoOf(err2) !== E.ELOOP) throw err2
            this.#ctx.warn('BTRFS_RECEIVE_FILEATTR_SKIPPED', `inode flags not applied to special file '${displayPath(path)}'`)
            return
          }
        }
      }
    }
    try {
      const real = this.ops.real(fd)
      const old = sys.ioctlGetInodeFlags(real)
      const managed = includeDeferred ? MANAGED_FS_FLAGS : MANAGED_FS_FLAGS & ~DEFERRED_FS_FLAGS
      const next = ((old & ~managed) | (fsFlags & managed)) >>> 0
      if (next !== old) sys.ioctlSetInodeFlags(real, next)
    } finally {
      if (owned) this.ops.close(fd)
    }
  }

  #renameDeferred(from: Buffer, to: Buffer): void {
    if (this.#deferredFlags.size === 0) return
    const f = from.toString('latin1')
    const t = to.toString('latin1')
    for (const [key, entry] of [...this.#deferredFlags]) {
      if (key === t || key.startsWith(`${t}/`)) this.#deferredFlags.delete(key)
      if (key !== f && !key.startsWith(`${f}/`)) continue
      this.#deferredFlags.delete(key)
      const moved = t + key.slice(f.length)
      this.#deferredFlags.set(moved, { path: Buffer.from(moved, 'latin1'), flags: entry.flags })
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

/** The parts left after the first `n` bytes were written. */
function remaining(parts: Uint8Array[], n: number): Uint8Array[] {
  let i = 0
  while (n >= parts[i].length) n -= parts[i++].length
  return [parts[i].subarray(n), ...parts.slice(i + 1)]
}

/** A failed gathered write, carrying the WRITE command it belongs to. */
export class FlushError extends Error {
  constructor(
    readonly failure: unknown,
    readonly command: Command | undefined,
  ) {
    super('gathered write failed')
  }
}
