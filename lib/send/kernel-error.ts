// Explains a failed BTRFS_IOC_SEND. The kernel's errnos are terse (EPERM covers several causes
// after our own pre-checks passed), so the message says what each one means for a send.
import { BtrfsSystemError } from '../errors.js'

const MEANING: Record<number, string> = {
  1: 'the kernel refused the send: a subvolume involved was made writable or is being deleted (EPERM)',
  2: 'the parent or a clone source no longer exists (ENOENT)',
  11: 'a deduplication is running on one of the subvolumes; retry when it has finished (EAGAIN)',
  22: 'the kernel rejected the send arguments (EINVAL)',
  71: 'this kernel does not support the requested stream version (EPROTO)',
  95: 'this kernel does not support a requested send flag (EOPNOTSUPP)',
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
