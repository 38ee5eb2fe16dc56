// The edge where lib/stream meets the addon: importing this module hands the addon's CRC32C
// (SSE4.2) to crc32c.ts, which loads it on first need. The decoder, encoder and frame checker
// stay free of the addon; the package entry, parse() and the receiver import this. Without the
// addon (BTRFS_ADDON_UNAVAILABLE) the CRC silently stays pure TypeScript.
import { native } from '../native.js'
import { setNativeCrcLoader, type NativeCrc } from './crc32c.js'

setNativeCrcLoader((): NativeCrc | null => {
  try {
    const addon = native() as Partial<BtrfsNative.Addon>
    const { crc32c, crc32cCommand, crc32cFrames } = addon
    if (typeof crc32c !== 'function' || typeof crc32cCommand !== 'function' || typeof crc32cFrames !== 'function') return null
    return { crc32c, crc32cCommand, crc32cFrames }
  } catch {
    return null
  }
})
