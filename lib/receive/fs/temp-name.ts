// The temporary name a subvolume is received under (see incoming.ts): TEMP_PREFIX, 12 random hex
// digits, '-', then its real name, cut to NAME_MAX. A name in a destination that starts with
// TEMP_PREFIX is a receive that never completed. No addon here, and no I/O until tempName() is
// called: the package entry re-exports TEMP_PREFIX without loading the native addon.
import { closeSync, openSync, readSync } from 'node:fs'
import { constants } from 'node:os'
import { errnoError } from '../../errors.js'

const osErrno = constants.errno

export const TEMP_PREFIX = '.btrfs-receive-'

/**
 * Six random bytes from the kernel. Not node:crypto: loading it costs 3-30 ms on every receive,
 * a visible part of a short one, for six bytes.
 */
function randomHex(): string {
  const bytes = Buffer.alloc(6)
  const fd = openSync('/dev/urandom', 'r')
  try {
    if (readSync(fd, bytes, 0, 6, null) !== 6) throw errnoError(osErrno.EIO, { syscall: 'read', path: '/dev/urandom', message: 'short read' })
  } finally {
    closeSync(fd)
  }
  return bytes.toString('hex')
}

export function tempName(name: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${TEMP_PREFIX}${randomHex()}-`), name]).subarray(0, 255)
}
