// The hand-written contract of the C++ addon (native/*.cc). Only lib/native.ts loads it. Every
// function wraps one syscall or ioctl, except startSend/startSplice, which run one blocking
// call each on a dedicated thread. Failures throw or reject with { message, errno (negative),
// syscall, ioctl? }.

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
    ioctlSetReceivedSubvol(fd: number, uuid: Buffer, stransid: bigint): Promise<{ rtransid: bigint; rtime: Timespec }>
  }
}
