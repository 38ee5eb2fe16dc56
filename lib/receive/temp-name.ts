// The temporary name a subvolume is received under (see incoming.ts): TEMP_PREFIX, 12 random hex
// digits, '-', then its real name, cut to NAME_MAX. A name in a destination that starts with
// TEMP_PREFIX is a receive that never completed. No I/O and no addon here: the package entry
// re-exports TEMP_PREFIX without loading the native addon.
import type { randomBytes as RandomBytes } from 'node:crypto'

export const TEMP_PREFIX = '.btrfs-receive-'

export function tempName(name: Buffer): Buffer {
  // Required on use: node:crypto costs milliseconds to load and the package entry imports this file.
  const randomBytes = (require('node:crypto') as { randomBytes: typeof RandomBytes }).randomBytes
  return Buffer.concat([Buffer.from(`${TEMP_PREFIX}${randomBytes(6).toString('hex')}-`), name]).subarray(0, 255)
}
