// The applier's syscalls, batched: QueuedOps encodes the hot *at syscalls of file commands as
// records for the native OpQueue (native/op_queue.cc), which issues them in order on its own
// thread while this thread decodes and plans the next commands. On btrfs the kernel work of a
// receive dominates (an unlink or rename costs 20-30 us), so overlapping it with the JS work is
// what lets us beat btrfs receive, which does both on one thread.
//
// Queued calls cannot fail here: an fd they open is a virtual fd (a slot number above
// SLOT_BASE) that later records name, and a failure is only seen when the queue is drained,
// as a QueueFailure carrying the tag (the session's journal index) of the command whose record
// failed. The session then replays from that command with `direct` set, where every method is
// the plain synchronous syscall with its real error (session.ts). Anything that needs a result
// (an ioctl, an fstat, a fallback path) calls real(), which drains first.
//
// Kept alive until the drain: the pwrite payloads (views into the input chunk; the engine drains
// before the chunk is reused). BTRFS_STREAM_NO_BATCH=1 turns batching off (every call direct).
import { closeSync, fchmodSync, ftruncateSync, writevSync } from 'node:fs'
import { constants as osc } from 'node:os'
import { errnoError, internalError } from '../../errors.js'
import { displayPath } from './path-guard.js'
import { C, missingSyscalls, sys } from './sys.js'

/**
 * The record layout native/op_queue.cc reads (little-endian; the addon exports its own as
 * opQueueLayout and a test compares the two): an 80-byte header, then name A and name B, each
 * NUL-terminated, the record padded to 8 bytes. Virtual fds are SLOT_BASE + slot; real fds
 * never get this high (RLIMIT_NOFILE caps them far lower). A name length of NO_NAME is a NULL
 * name (utimensat on the fd itself).
 */
export const RECORD_LAYOUT = {
  headerSize: 80,
  align: 8,
  slotBase: 0x40000000,
  slots: 4096,
  noName: 0xffffffff,
  offsets: {
    code: 0,
    tag: 4,
    fdA: 8,
    fdB: 12,
    flags: 16,
    mode: 20,
    outSlot: 24,
    nameALen: 28,
    nameBLen: 32,
    dataIndex: 36,
    dataCount: 40,
    n0: 48,
    n1: 56,
    n2: 64,
    n3: 72,
  },
  codes: {
    openat2: 1,
    reopen: 2,
    requireType: 3,
    close: 4,
    mkdirat: 5,
    mknodat: 6,
    symlinkat: 7,
    linkat: 8,
    renameat2: 9,
    unlinkat: 10,
    fchownat: 11,
    fchmodat2: 12,
    fchmod: 13,
    utimensat: 14,
    pwritev: 15,
    ftruncate: 16,
    encodedWrite: 17,
  },
} as const

const { slotBase: SLOT_BASE, slots: SLOTS, noName: NO_NAME, headerSize: HEADER } = RECORD_LAYOUT
const { code: O_CODE, tag: O_TAG, fdA: O_FDA, fdB: O_FDB, flags: O_FLAGS, mode: O_MODE, outSlot: O_SLOT } = RECORD_LAYOUT.offsets
const { nameALen: O_ALEN, nameBLen: O_BLEN, dataIndex: O_DATA, dataCount: O_DCOUNT, n0: N0, n1: N1, n2: N2, n3: N3 } = RECORD_LAYOUT.offsets
const Code = RECORD_LAYOUT.codes
type Code = (typeof Code)[keyof typeof Code]
const AT_FDCWD = -100
/** Records staged before they are handed to the thread: enough to amortise the hand-over. */
const BATCH_RECORDS = 32
/** Payload bytes staged before they are handed over: a big write should start at once. */
const BATCH_BYTES = 256 * 1024
const STAGING = 256 * 1024
/**
 * The longest name or symlink target a record carries: PATH_MAX less its NUL, the most any of
 * these syscalls accepts. Longer ones (a stream may hold a 64 KiB symlink target) and names
 * holding a NUL are not queued: the direct syscall fails them (ENAMETOOLONG, EINVAL) exactly
 * as the unqueued receiver does. Xattr names and values never travel in records.
 */
const MAX_RECORD_NAME = 4095
/** Room always left for one more record with two maximal names (each with its NUL). */
const RECORD_MAX = HEADER + 2 * (MAX_RECORD_NAME + 1) + 8

/** Whether `name` cannot travel in a record (see MAX_RECORD_NAME). */
function unfit(name: Buffer): boolean {
  return name.length > MAX_RECORD_NAME || name.includes(0)
}

/** A queued record failed; everything queued after it was skipped. */
export class QueueFailure extends Error {
  constructor(
    readonly tag: number,
    readonly errno: number,
  ) {
    super(`queued syscall of command #${tag} failed (errno ${errno})`)
  }
}

function isVirtual(fd: number): boolean {
  return fd >= SLOT_BASE
}

export class QueuedOps {
  /**
   * Tag written into each record: the sequence number of the command being applied. Tags never
   * decrease along the queue, which is what lets waitBelow() release input chunk by chunk.
   */
  tag = 0
  /** Set while the session replays commands after a QueueFailure: every call is direct. */
  replaying = false
  /** Read per receive, so a test can compare both ways in one process. */
  #off = process.env.BTRFS_STREAM_NO_BATCH === '1'
  #queue: BtrfsNative.OpQueue | undefined
  readonly #buf = Buffer.allocUnsafeSlow(STAGING)
  readonly #view = new DataView(this.#buf.buffer, this.#buf.byteOffset, STAGING)
  #len = 0
  #count = 0
  #data: Uint8Array[] = []
  #dataBytes = 0
  /** Payloads of submitted batches with the highest tag among their records, referenced until run. */
  #inflight: { tag: number; data: Uint8Array[] }[] = []
  #submitted = false
  #floor = 0
  /** Highest tag among the staged records. */
  #maxTag = 0
  readonly #free: number[] = []
  readonly #live = new Uint8Array(SLOTS)

  constructor() {
    for (let s = SLOTS - 1; s >= 0; s--) this.#free.push(s)
  }

  /** Every call runs synchronously on this thread (replaying, or batching off). */
  get direct(): boolean {
    return this.#off || this.replaying
  }

  /** From now on every call is direct (after running what is queued; may throw QueueFailure). */
  stopBatching(): void {
    this.#drain(true)
    this.#off = true
  }

  // ---- queued calls (direct when `direct`) ----

  openat2(dirFd: number, path: Buffer, flags: number, mode: number, resolve: number): number {
    if (this.direct || unfit(path)) return sys.openat2(this.real(dirFd), path, flags, mode, resolve)
    const slot = this.#slot()
    const at = this.#record(Code.openat2, dirFd, 0, flags, mode, SLOT_BASE + slot, path, undefined)
    this.#i64(at + N0, resolve)
    this.#commit()
    return SLOT_BASE + slot
  }

  /** Opens the inode behind `fd` (an O_PATH fd) again with `flags`, through /proc/self/fd. */
  reopen(fd: number, flags: number): number {
    if (this.direct) return sys.openat2(AT_FDCWD, Buffer.from(`/proc/self/fd/${this.real(fd)}`), flags, 0, 0)
    const slot = this.#slot()
    this.#record(Code.reopen, fd, 0, flags, 0, SLOT_BASE + slot, undefined, undefined)
    this.#commit()
    return SLOT_BASE + slot
  }

  /** Fails (ELOOP, EISDIR or EINVAL, naming `path`) unless `fd` is a regular file. */
  requireRegular(fd: number, path: Buffer): void {
    if (!this.direct) {
      this.#record(Code.requireType, fd, 0, 0, C.S_IFREG, -1, undefined, undefined)
      return this.#commit()
    }
    const type = sys.fstatOwner(this.real(fd))[0] & C.S_IFMT
    if (type === C.S_IFREG) return
    const errno = type === C.S_IFLNK ? osc.errno.ELOOP : type === C.S_IFDIR ? osc.errno.EISDIR : osc.errno.EINVAL
    throw errnoError(errno, { syscall: 'open', message: 'not a regular file', path: displayPath(path) })
  }

  close(fd: number): void {
    if (isVirtual(fd)) {
      const slot = fd - SLOT_BASE
      // Not live: its fd was closed when a failure reset the queue.
      if (!this.#live[slot]) return
      this.#live[slot] = 0
      // Reusing the slot is safe: records run in order, so its Close runs before a new open.
      this.#free.push(slot)
    } else if (this.direct) {
      return closeSync(fd)
    }
    this.#record(Code.close, fd, 0, 0, 0, -1, undefined, undefined)
    this.#commit()
    if (this.direct) this.#drain(true)
  }

  mkdirat(dirFd: number, name: Buffer, mode: number): void {
    if (this.direct || unfit(name)) return sys.mkdirat(this.real(dirFd), name, mode)
    this.#record(Code.mkdirat, dirFd, 0, 0, mode, -1, name, undefined)
    this.#commit()
  }

  mknodat(dirFd: number, name: Buffer, mode: number, dev: { major: number; minor: number }): void {
    if (this.direct || unfit(name)) return sys.mknodat(this.real(dirFd), name, mode, dev.major, dev.minor)
    const at = this.#record(Code.mknodat, dirFd, 0, 0, mode, -1, name, undefined)
    this.#i64(at + N0, dev.major)
    this.#i64(at + N1, dev.minor)
    this.#commit()
  }

  symlinkat(target: Buffer, dirFd: number, name: Buffer): void {
    if (this.direct || unfit(name) || unfit(target)) return sys.symlinkat(target, this.real(dirFd), name)
    this.#record(Code.symlinkat, dirFd, 0, 0, 0, -1, name, target)
    this.#commit()
  }

  linkat(oldDirFd: number, oldName: Buffer, newDirFd: number, newName: Buffer, flags: number): void {
    if (this.direct || unfit(oldName) || unfit(newName)) {
      return sys.linkat(this.real(oldDirFd), oldName, this.real(newDirFd), newName, flags)
    }
    this.#record(Code.linkat, oldDirFd, newDirFd, flags, 0, -1, oldName, newName)
    this.#commit()
  }

  renameat2(oldDirFd: number, oldName: Buffer, newDirFd: number, newName: Buffer, flags: number): void {
    if (this.direct || unfit(oldName) || unfit(newName)) {
      return sys.renameat2(this.real(oldDirFd), oldName, this.real(newDirFd), newName, flags)
    }
    this.#record(Code.renameat2, oldDirFd, newDirFd, flags, 0, -1, oldName, newName)
    this.#commit()
  }

  unlinkat(dirFd: number, name: Buffer, flags: number): void {
    if (this.direct || unfit(name)) return sys.unlinkat(this.real(dirFd), name, flags)
    this.#record(Code.unlinkat, dirFd, 0, flags, 0, -1, name, undefined)
    this.#commit()
  }

  fchownat(dirFd: number, name: Buffer, uid: number, gid: number, flags: number): void {
    if (this.direct || unfit(name)) return sys.fchownat(this.real(dirFd), name, uid, gid, flags)
    const at = this.#record(Code.fchownat, dirFd, 0, flags, 0, -1, name, undefined)
    this.#i64(at + N0, uid)
    this.#i64(at + N1, gid)
    this.#commit()
  }

  /** fchown of the fd itself. */
  fchown(fd: number, uid: number, gid: number): void {
    this.fchownat(fd, EMPTY, uid, gid, C.AT_EMPTY_PATH)
  }

  fchmodat2(dirFd: number, name: Buffer, mode: number, flags: number): void {
    if (this.direct || unfit(name) || missingSyscalls.has('fchmodat2')) return sys.fchmodat2(this.real(dirFd), name, mode, flags)
    this.#record(Code.fchmodat2, dirFd, 0, flags, mode, -1, name, undefined)
    this.#commit()
  }

  fchmod(fd: number, mode: number): void {
    if (this.direct) return fchmodSync(this.real(fd), mode)
    this.#record(Code.fchmod, fd, 0, 0, mode, -1, undefined, undefined)
    this.#commit()
  }

  /** name null: the fd itself. */
  utimensat(dirFd: number, name: Buffer | null, aSec: bigint, aNsec: number, mSec: bigint, mNsec: number, flags: number): void {
    if (this.direct || (name !== null && unfit(name))) {
      return sys.utimensat(this.real(dirFd), name, aSec, aNsec, mSec, mNsec, flags)
    }
    const at = this.#record(Code.utimensat, dirFd, 0, flags, 0, -1, name ?? undefined, undefined)
    const v = this.#view
    v.setBigInt64(at + N0, aSec, true)
    this.#i64(at + N1, aNsec)
    v.setBigInt64(at + N2, mSec, true)
    this.#i64(at + N3, mNsec)
    this.#commit()
  }

  ftruncate(fd: number, size: number): void {
    if (this.direct) return ftruncateSync(this.real(fd), size)
    const at = this.#record(Code.ftruncate, fd, 0, 0, 0, -1, undefined, undefined)
    this.#i64(at + N0, size)
    this.#commit()
  }

  /**
   * Writes `parts` at `offset`; returns the bytes written. Queued, a short write counts as a
   * failure (the replay loops on it); direct, one pwrite/pwritev that may write less.
   */
  pwritev(fd: number, parts: Uint8Array[], offset: number): number {
    if (this.direct) {
      const real = this.real(fd)
      return parts.length === 1 ? sys.pwrite(real, parts[0], offset) : writevSync(real, parts, offset)
    }
    let total = 0
    for (const p of parts) total += p.length
    const at = this.#record(Code.pwritev, fd, 0, 0, 0, -1, undefined, undefined)
    this.#view.setUint32(at + O_DATA, this.#data.length, true)
    this.#view.setUint32(at + O_DCOUNT, parts.length, true)
    for (const p of parts) this.#data.push(p)
    this.#dataBytes += total
    this.#i64(at + N0, offset)
    this.#commit()
    return total
  }

  /** BTRFS_IOC_ENCODED_WRITE of `data` (see the addon's ioctlEncodedWrite). */
  encodedWrite(fd: number, data: Uint8Array, offset: number, len: number, unencodedLen: number, unencodedOffset: number, compression: number, encryption: number): void {
    if (this.direct) {
      sys.ioctlEncodedWrite(this.real(fd), data, offset, len, unencodedLen, unencodedOffset, compression, encryption)
      return
    }
    const at = this.#record(Code.encodedWrite, fd, 0, compression, encryption, -1, undefined, undefined)
    this.#view.setUint32(at + O_DATA, this.#data.length, true)
    this.#data.push(data)
    this.#dataBytes += data.length
    this.#i64(at + N0, offset)
    this.#i64(at + N1, len)
    this.#i64(at + N2, unencodedLen)
    this.#i64(at + N3, unencodedOffset)
    this.#commit()
  }

  // ---- draining ----

  /**
   * The real fd behind `fd` once everything queued so far has run; throws QueueFailure when a
   * queued record failed. Everything not queued above goes through this.
   */
  real(fd: number): number {
    this.#drain(true)
    if (!isVirtual(fd)) return fd
    const real = this.#queue!.fd(fd - SLOT_BASE)
    if (real < 0) throw internalError(`virtual fd ${fd} has no open file`)
    return real
  }

  /** A new queue: every tag below `tag` belongs to an earlier one, which has run. */
  start(tag: number): void {
    this.tag = tag
    this.#floor = tag
  }

  /**
   * Waits until every record tagged below `tag` has run (the queue's thread goes on with the
   * rest: no bubble); throws QueueFailure when a record failed.
   */
  waitBelow(tag: number): void {
    if (tag <= this.#floor || (this.#queue === undefined && this.#count === 0)) return
    // Direct calls have all run; whatever was queued before batching stopped was drained then.
    if (this.direct) return
    if (this.#count > 0) this.#submit()
    const failure = this.#queue!.waitBelow(tag)
    if (failure) throw new QueueFailure(failure[0], failure[1])
    this.#release(this.doneBelow())
  }

  /** Every record tagged below this has run (no waiting). */
  doneBelow(): number {
    if (this.direct || this.#queue === undefined) return this.tag
    return Math.max(this.#floor, this.#queue.doneBelow())
  }

  /** Runs everything queued; returns the failure, if any, instead of throwing it. */
  settle(): QueueFailure | undefined {
    try {
      this.#drain(true)
      return undefined
    } catch (err) {
      if (err instanceof QueueFailure) return err
      throw err
    }
  }

  /** After a QueueFailure: closes every fd the queue opened; their virtual fds become no-ops. */
  recover(): void {
    this.#drain(false)
    this.#queue?.reset()
    this.#live.fill(0)
    this.#free.length = 0
    for (let s = SLOTS - 1; s >= 0; s--) this.#free.push(s)
  }

  /** Runs what is queued (a failure is ignored: the caller is abandoning) and stops the thread. */
  shutdown(): void {
    this.#drain(false)
    this.#queue?.close()
    this.#queue = undefined
    this.#live.fill(0)
  }

  #drain(throwFailure: boolean): void {
    if (this.#count > 0) this.#submit()
    if (!this.#submitted) return
    this.#submitted = false
    const failure = this.#queue!.wait()
    this.#inflight.length = 0
    if (failure && throwFailure) throw new QueueFailure(failure[0], failure[1])
  }

  #submit(): void {
    this.#queue ??= new (sys.OpQueue)()
    this.#queue.submit(this.#buf, this.#len, this.#data)
    if (this.#data.length > 0) this.#inflight.push({ tag: this.#maxTag, data: this.#data })
    this.#data = []
    this.#dataBytes = 0
    this.#len = 0
    this.#count = 0
    this.#submitted = true
  }

  /** Drops the payloads of batches whose records have all run. */
  #release(doneBelow: number): void {
    const inflight = this.#inflight
    let n = 0
    while (n < inflight.length && inflight[n].tag < doneBelow) n++
    if (n > 0) inflight.splice(0, n)
  }

  #commit(): void {
    if (++this.#count >= BATCH_RECORDS || this.#dataBytes >= BATCH_BYTES || this.#len > STAGING - RECORD_MAX) this.#submit()
  }

  #slot(): number {
    const slot = this.#free.pop()
    if (slot === undefined) throw internalError('every queued fd slot is in use')
    this.#live[slot] = 1
    return slot
  }

  /** Writes a record header and its names; returns the record's offset. */
  #record(code: Code, fdA: number, fdB: number, flags: number, mode: number, outSlot: number, a: Buffer | undefined, b: Buffer | undefined): number {
    const v = this.#view
    const at = this.#len
    v.setUint32(at + O_CODE, code, true)
    v.setUint32(at + O_TAG, this.tag, true)
    if (this.tag > this.#maxTag) this.#maxTag = this.tag
    v.setInt32(at + O_FDA, fdA, true)
    v.setInt32(at + O_FDB, fdB, true)
    v.setInt32(at + O_FLAGS, flags, true)
    v.setInt32(at + O_MODE, mode, true)
    v.setInt32(at + O_SLOT, outSlot < 0 ? -1 : outSlot - SLOT_BASE, true)
    v.setUint32(at + O_ALEN, a === undefined ? NO_NAME : a.length, true)
    v.setUint32(at + O_BLEN, b === undefined ? NO_NAME : b.length, true)
    v.setUint32(at + O_DATA, 0, true)
    v.setUint32(at + O_DCOUNT, 0, true)
    let p = at + HEADER
    if (a !== undefined) {
      this.#buf.set(a, p)
      p += a.length
      this.#buf[p++] = 0
    }
    if (b !== undefined) {
      this.#buf.set(b, p)
      p += b.length
      this.#buf[p++] = 0
    }
    this.#len = (p + 7) & ~7
    return at
  }

  /** A non-negative integer below 2^53 as a little-endian 64-bit field (no BigInt per call). */
  #i64(at: number, n: number): void {
    this.#view.setUint32(at, n >>> 0, true)
    this.#view.setUint32(at + 4, Math.floor(n / 4294967296), true)
  }
}

const EMPTY = Buffer.alloc(0)
