// Decodes the root tree's items about subvolumes: ROOT_ITEM (uuids, transids, flags) and
// ROOT_BACKREF (where a subvolume hangs in its parent). Offsets are those of struct
// btrfs_root_item / btrfs_root_ref in the kernel's on-disk format; all little-endian.

/** On-disk root flag: the subvolume is read-only (BTRFS_ROOT_SUBVOL_RDONLY). */
export const ROOT_SUBVOL_RDONLY = 1n

export interface RootItem {
  generation: bigint
  flags: bigint
  readOnly: boolean
  refs: number
  uuid: Buffer
  parentUuid: Buffer
  receivedUuid: Buffer
  ctransid: bigint
  otransid: bigint
  stransid: bigint
  rtransid: bigint
}

const ZERO16 = Buffer.alloc(16)

export function decodeRootItem(data: Buffer): RootItem {
  const generation = data.readBigUInt64LE(160)
  const flags = data.readBigUInt64LE(208)
  // Items from old kernels are shorter, or have generation_v2 out of step: their v2 fields are void.
  const v2 = data.length >= 439 && data.readBigUInt64LE(239) === generation
  const u64 = (off: number) => (v2 ? data.readBigUInt64LE(off) : 0n)
  const uuid = (off: number) => (v2 ? Buffer.from(data.subarray(off, off + 16)) : ZERO16)
  return {
    generation,
    flags,
    readOnly: (flags & ROOT_SUBVOL_RDONLY) !== 0n,
    refs: data.readUInt32LE(216),
    uuid: uuid(247),
    parentUuid: uuid(263),
    receivedUuid: uuid(279),
    ctransid: u64(295),
    otransid: u64(303),
    stransid: u64(311),
    rtransid: u64(319),
  }
}

export interface RootBackref {
  /** Subvolume this one lives in (the key's offset). */
  parentId: bigint
  /** Inode of the directory in the parent that holds it. */
  dirid: bigint
  name: Buffer
}

export function decodeRootBackref(parentId: bigint, data: Buffer): RootBackref {
  const nameLen = data.readUInt16LE(16)
  return { parentId, dirid: data.readBigUInt64LE(0), name: Buffer.from(data.subarray(18, 18 + nameLen)) }
}
