// Which send protocol the running kernel offers, read where btrfs-progs reads it: sysfs
// features/send_stream_version. A missing file means a kernel that only knows version 1.
import { readFileSync } from 'node:fs'

const SYSFS_VERSION = '/sys/fs/btrfs/features/send_stream_version'

export function kernelSendProtocol(): number {
  try {
    const n = Number.parseInt(readFileSync(SYSFS_VERSION, 'utf8').trim(), 10)
    return Number.isInteger(n) && n > 0 ? n : 1
  } catch {
    return 1
  }
}
