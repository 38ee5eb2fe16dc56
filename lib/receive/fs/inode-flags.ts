// FILEATTR's btrfs inode flags (low 32 bits; ro_flags above) mapped to FS_IOC_SETFLAGS bits: the
// inverse of the kernel's btrfs_inode_flags_to_fsflags. RO_VERITY is not a flag
// one can set (ENABLE_VERITY does it). IMMUTABLE and APPEND are deferred to the end of the
// subvolume, because set mid-stream they would make the inode's later commands fail.

const BTRFS = { NODATACOW: 1 << 1, NOCOMPRESS: 1 << 3, SYNC: 1 << 5, IMMUTABLE: 1 << 6, APPEND: 1 << 7, NODUMP: 1 << 8, NOATIME: 1 << 9, DIRSYNC: 1 << 10, COMPRESS: 1 << 11 }
const FS = { SYNC: 0x8, IMMUTABLE: 0x10, APPEND: 0x20, NODUMP: 0x40, NOATIME: 0x80, DIRSYNC: 0x10000, NOCOW: 0x800000, NOCOMP: 0x400, COMPR: 0x4 }

/** Every FS_*_FL bit FILEATTR decides; others an inode has are left alone. */
export const MANAGED_FS_FLAGS = Object.values(FS).reduce((a, b) => a | b, 0)
export const DEFERRED_FS_FLAGS = FS.IMMUTABLE | FS.APPEND

export function btrfsFlagsToFsFlags(fileattr: number): number {
  const low = fileattr % 2 ** 32
  let fs = 0
  if (low & BTRFS.SYNC) fs |= FS.SYNC
  if (low & BTRFS.IMMUTABLE) fs |= FS.IMMUTABLE
  if (low & BTRFS.APPEND) fs |= FS.APPEND
  if (low & BTRFS.NODUMP) fs |= FS.NODUMP
  if (low & BTRFS.NOATIME) fs |= FS.NOATIME
  if (low & BTRFS.DIRSYNC) fs |= FS.DIRSYNC
  if (low & BTRFS.NODATACOW) fs |= FS.NOCOW
  if (low & BTRFS.NOCOMPRESS) fs |= FS.NOCOMP
  else if (low & BTRFS.COMPRESS) fs |= FS.COMPR
  return fs >>> 0
}
