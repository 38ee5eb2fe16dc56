// Explains a failed BTRFS_IOC_SEND. The kernel's errnos are terse (EPERM covers several causes
// after our own pre-checks passed), so the message says what each one means for a send.
import { constants } from 'node:os'
import { BtrfsSystemError } from '../errors.js'

const E = constants.errno
const MEANING: Record<number, string> = {
  [E.EPERM]: 'the kernel refused the send: a subvolume involved was made writable or is being deleted (EPERM)',
  [E.ENOENT]: 'the parent or a clone source no longer exists (ENOENT)',
  [E.EAGAIN]: 'a deduplication is running on one of the subvolumes; retry when it has finished (EAGAIN)',
  [E.EINVAL]: 'the kernel rejected the send arguments (EINVAL)',
  [E.EPROTO]: 'this kernel does not support the requested stream version (EPROTO)',
  [E.EOPNOTSUPP]: 'this kernel does not support a requested send flag (EOPNOTSUPP)',
}

export function sendError(errno: number, path: string, cause?: unknown): BtrfsSystemError {
  const e = Math.abs(errno)
  return new BtrfsSystemError({
    errno: e,
    syscall: 'ioctl',
    ioctl: 'BTRFS_IOC_SEND',
    path,
    message: MEANING[e] ?? 'BTRFS_IOC_SEND failed',
    cause,
  })
}
