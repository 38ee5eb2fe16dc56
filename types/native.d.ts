// The hand-written contract of the C++ addon (native/*.cc). Only lib/native.ts loads it. Every
// function wraps one syscall or ioctl, except startSend/startSplice, which run one blocking
// call each on a dedicated thread, OpQueue, which runs records of one syscall each in order on
// its own thread (no decisions beyond stopping at the first failure), and the crc32c*
// functions, pure computation chosen by measurement over the TypeScript CRC. Failures throw or reject with { message, errno
// (negative), syscall, ioctl? }.

declare namespace BtrfsNative {
  /** A blocking call on its own thread; the callback gets (errnoOrZero, bytes) once. */
  interface Job {
    /** Sends the wake signal to the thread (its syscall returns EINTR); false once finished. */
    interrupt(): boolean
    ref(): void
    unref(): void
    /** Bytes moved so far (splice jobs). */
    bytes(): number
  }

  interface SendArgs {
    subvolFd: number
    /** Owned by the job from here on: closed when the ioctl returns. */
    sendFd: number
    cloneSources: BigUint64Array
    parentRoot: bigint
    flags: number
    version: number
  }

  interface Timespec {
    sec: bigint
    nsec: number
  }

  interface SubvolInfo {
    treeid: bigint
    name: Buffer
    parentId: bigint
    dirid: bigint
    generation: bigint
    flags: bigint
    uuid: Buffer
    parentUuid: Buffer
    receivedUuid: Buffer
    ctransid: bigint
    otransid: bigint
    stransid: bigint
    rtransid: bigint
    ctime: Timespec
    otime: Timespec
    stime: Timespec
    rtime: Timespec
  }

  /**
   * Runs submitted syscall records in order on one native thread (native/op_queue.cc; the
   * record format belongs to lib/receive/queued-ops.ts). Fds opened by records live in slots.
   */
  interface OpQueue {
    /** Copies records[0, length); `data` are pwrite payloads, referenced by the queue until it is idle again. */
    submit(records: Uint8Array, length: number, data: Uint8Array[]): void
    /** Blocks until all submitted records ran; undefined, or [tag, -errno] of the first failure. */
    wait(): [number, number] | undefined
    /** Blocks until every record tagged below `tag` ran (or all did, or one failed); as wait(). */
    waitBelow(tag: number): [number, number] | undefined
    /** Every record tagged below this has run (tags never decrease along the queue). */
    doneBelow(): number
    /** The fd in `slot` (-1 when empty); only after wait(). */
    fd(slot: number): number
    /** After wait(): closes every slot's fd and forgets a failure. */
    reset(): void
    /** Stops the thread after what was submitted and closes every slot. */
    close(): void
  }

  interface Addon {
    pipe2(): [number, number]
    fcntlSetPipeSize(fd: number, size: number): number
    startSend(args: SendArgs, callback: (errno: number, bytes: number) => void): Job
    /** The job owns inFd; copies it to outFd until EOF. */
    startSplice(inFd: number, outFd: number, chunk: number, callback: (errno: number, bytes: number) => void): Job

    ioctlSubvolGetFlags(fd: number): Promise<number>
    ioctlSubvolSetFlags(fd: number, flags: number): Promise<void>
    ioctlSubvolCreate(dirFd: number, name: Buffer): Promise<void>
    ioctlSnapCreate(dirFd: number, srcFd: number, name: Buffer, flags: number): Promise<void>
    ioctlSnapDestroy(dirFd: number, name: Buffer): Promise<void>
    ioctlGetSubvolInfo(fd: number): Promise<SubvolInfo>
    ioctlInoLookup(fd: number, treeid: bigint, objectid: bigint): Promise<{ treeid: bigint; name: Buffer }>
    ioctlTreeSearchV2(fd: number, key: Buffer, bufSize: number): Promise<{ key: Buffer; items: Buffer }>
    ioctlFsInfo(fd: number): Promise<{ fsid: Buffer; numDevices: number; nodesize: number; sectorsize: number }>
    /** Raw CRC32C update (no final XOR) of bytes[start, end); btrfs send uses crc = 0. */
    crc32c(crc: number, bytes: Uint8Array, start: number, end: number): number
    /** CRC32C (seed 0) of the command frame bytes[start, end) with its crc field (+6..+9) as zero. */
    crc32cCommand(bytes: Uint8Array, start: number, end: number): number
    /**
     * Checks the CRC of each complete command frame from `start` (frames only: which command a
     * frame holds is not looked at), stopping before a len > maxLen or at an incomplete frame.
     * Returns where it stopped (all before verified), or -(q + 1) when the frame at q fails.
     */
    crc32cFrames(bytes: Uint8Array, start: number, end: number, maxLen: number): number
    ioctlSetReceivedSubvol(fd: number, uuid: Buffer, stransid: bigint): Promise<{ rtransid: bigint; rtime: Timespec }>
    // Receive: synchronous *at syscalls (native/fsops.cc), called from the receiver's worker
    // thread. Names are Buffers (single components unless noted); each throws on failure.
    /** openat2 with O_CLOEXEC added; `path` may have several components. Returns the fd. */
    openat2(dirFd: number, path: Buffer, flags: number, mode: number, resolve: number): number
    mkdirat(dirFd: number, name: Buffer, mode: number): void
    /** `mode` includes the S_IF* type; the device is makedev(major, minor). */
    mknodat(dirFd: number, name: Buffer, mode: number, major: number, minor: number): void
    symlinkat(target: Buffer, dirFd: number, name: Buffer): void
    linkat(oldDirFd: number, oldName: Buffer, newDirFd: number, newName: Buffer, flags: number): void
    renameat2(oldDirFd: number, oldName: Buffer, newDirFd: number, newName: Buffer, flags: number): void
    unlinkat(dirFd: number, name: Buffer, flags: number): void
    fchownat(dirFd: number, name: Buffer, uid: number, gid: number, flags: number): void
    /** Kernel >= 6.6 (ENOSYS before); honours AT_SYMLINK_NOFOLLOW. */
    fchmodat2(dirFd: number, name: Buffer, mode: number, flags: number): void
    /** name null: the fd itself. Seconds are signed (pre-1970 is negative). */
    utimensat(dirFd: number, name: Buffer | null, atimeSec: bigint, atimeNsec: number, mtimeSec: bigint, mtimeNsec: number, flags: number): void
    fallocate(fd: number, mode: number, offset: number, length: number): void
    /** One pwrite(2); may write less than asked. */
    pwrite(fd: number, data: Uint8Array, offset: number): number
    /** fstat (works on O_PATH fds): [st_mode with type bits, uid, gid]. */
    fstatOwner(fd: number): [number, number, number]
    /** Kernel >= 6.13 (ENOSYS before). */
    setxattrat(dirFd: number, name: Buffer, atFlags: number, xattrName: Buffer, value: Uint8Array, flags: number): void
    lsetxattr(path: Buffer, xattrName: Buffer, value: Uint8Array, flags: number): void
    fsetxattr(fd: number, xattrName: Buffer, value: Uint8Array, flags: number): void
    /** Kernel >= 6.13 (ENOSYS before). */
    removexattrat(dirFd: number, name: Buffer, atFlags: number, xattrName: Buffer): void
    lremovexattr(path: Buffer, xattrName: Buffer): void
    /** O_*, RESOLVE_*, AT_*, RENAME_*, S_IF*, UTIME_OMIT and FALLOC_FL_PUNCH_HOLE from the build machine's headers. */
    fsopsConstants: Record<string, number>
    /** BTRFS_SUBVOL_RDONLY and BTRFS_SEND_FLAG_* (without the BTRFS_ prefix) from linux/btrfs.h. */
    btrfsConstants: Record<'SUBVOL_RDONLY' | 'SEND_FLAG_NO_FILE_DATA' | 'SEND_FLAG_OMIT_STREAM_HEADER' | 'SEND_FLAG_OMIT_END_CMD' | 'SEND_FLAG_VERSION' | 'SEND_FLAG_COMPRESSED', number>
    /** The syscall queue's record layout (native/op_queue.cc): sizes, field offsets, opcodes. */
    opQueueLayout: {
      headerSize: number
      align: number
      slotBase: number
      slots: number
      noName: number
      offsets: Record<string, number>
      codes: Record<string, number>
    }

    // Receive: synchronous data ioctls (native/data_ioctl.cc).
    ioctlCloneRange(dstFd: number, srcFd: number, srcOffset: number, length: number, dstOffset: number): void
    /** Returns the encoded bytes written. */
    ioctlEncodedWrite(fd: number, data: Uint8Array, offset: number, len: number, unencodedLen: number, unencodedOffset: number, compression: number, encryption: number): number
    ioctlGetInodeFlags(fd: number): number
    ioctlSetInodeFlags(fd: number, flags: number): void
    OpQueue: new () => OpQueue
    ioctlEnableVerity(fd: number, algorithm: number, blockSize: number, salt: Uint8Array, signature: Uint8Array): void
  }
}
