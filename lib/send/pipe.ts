// The kernel-to-us pipe of one send: created O_CLOEXEC (a child spawned mid-send must not hold
// the write end, or the reader never sees EOF) and enlarged so the kernel's writes rarely block.
import { fromNative } from '../errors.js'
import { native } from '../native.js'

/** 1 MiB: the unprivileged pipe-max-size default; btrfs send asks for 147456 (rounded to 256 KiB). */
const PIPE_SIZE = 1024 * 1024
const FALLBACK_PIPE_SIZE = 147456

export function createSendPipe(): { readFd: number; writeFd: number } {
  const addon = native()
  let fds: [number, number]
  try {
    fds = addon.pipe2()
  } catch (err) {
    throw fromNative(err)
  }
  try {
    addon.fcntlSetPipeSize(fds[1], PIPE_SIZE)
  } catch {
    // pipe-max-size lowered by the admin, or a memory limit: the size btrfs send uses is enough.
    try {
      addon.fcntlSetPipeSize(fds[1], FALLBACK_PIPE_SIZE)
    } catch {}
  }
  return { readFd: fds[0], writeFd: fds[1] }
}
