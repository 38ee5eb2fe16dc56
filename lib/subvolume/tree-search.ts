// BTRFS_IOC_TREE_SEARCH_V2 as an async iterator of items. The kernel bounds a search by whole
// (objectid, type, offset) tuples, not per field, so callers still filter by type. Search
// headers are in host byte order (little-endian on every platform we build for); item data is
// on-disk little-endian. Needs CAP_SYS_ADMIN.
import { nativeCall } from './call.js'

const U64_MAX = 0xffff_ffff_ffff_ffffn
const KEY_SIZE = 104
const HEADER_SIZE = 32
const BUF_SIZE = 64 * 1024

export const ROOT_TREE_OBJECTID = 1n
export const FS_TREE_OBJECTID = 5n
export const UUID_TREE_OBJECTID = 9n
export const ROOT_ITEM_KEY = 132
export const ROOT_BACKREF_KEY = 144
export const ROOT_REF_KEY = 156
export const UUID_KEY_SUBVOL = 251
export const UUID_KEY_RECEIVED_SUBVOL = 252
/** Highest objectid a subvolume can have (BTRFS_LAST_FREE_OBJECTID). */
export const LAST_FREE_OBJECTID = U64_MAX - 255n

export interface SearchRange {
  treeId: bigint
  minObjectid: bigint
  maxObjectid: bigint
  minType: number
  maxType: number
  minOffset?: bigint
  maxOffset?: bigint
}

export interface TreeItem {
  objectid: bigint
  type: number
  offset: bigint
  transid: bigint
  data: Buffer
}

function encodeKey(range: SearchRange, objectid: bigint, type: number, offset: bigint): Buffer {
  const key = Buffer.alloc(KEY_SIZE)
  key.writeBigUInt64LE(range.treeId, 0)
  key.writeBigUInt64LE(objectid, 8)
  key.writeBigUInt64LE(range.maxObjectid, 16)
  key.writeBigUInt64LE(offset, 24)
  key.writeBigUInt64LE(range.maxOffset ?? U64_MAX, 32)
  key.writeBigUInt64LE(0n, 40)
  key.writeBigUInt64LE(U64_MAX, 48)
  key.writeUInt32LE(type, 56)
  key.writeUInt32LE(range.maxType, 60)
  key.writeUInt32LE(4096, 64)
  return key
}

/** Yields every item whose key lies between the range's min and max tuples, in key order. */
export async function* searchTree(fd: number, range: SearchRange): AsyncGenerator<TreeItem> {
  let objectid = range.minObjectid
  let type = range.minType
  let offset = range.minOffset ?? 0n
  for (;;) {
    const { key, items } = await nativeCall(undefined, (n) =>
      n.ioctlTreeSearchV2(fd, encodeKey(range, objectid, type, offset), BUF_SIZE),
    )
    const count = key.readUInt32LE(64)
    if (count === 0) return
    let pos = 0
    let last: TreeItem | undefined
    for (let i = 0; i < count; i++) {
      const len = items.readUInt32LE(pos + 28)
      last = {
        transid: items.readBigUInt64LE(pos),
        objectid: items.readBigUInt64LE(pos + 8),
        offset: items.readBigUInt64LE(pos + 16),
        type: items.readUInt32LE(pos + 24),
        data: items.subarray(pos + HEADER_SIZE, pos + HEADER_SIZE + len),
      }
      pos += HEADER_SIZE + len
      yield last
    }
    // Continue just after the last key returned.
    if (!last) return
    if (last.offset < U64_MAX) {
      objectid = last.objectid
      type = last.type
      offset = last.offset + 1n
    } else if (last.type < 255) {
      objectid = last.objectid
      type = last.type + 1
      offset = 0n
    } else if (last.objectid < range.maxObjectid) {
      objectid = last.objectid + 1n
      type = 0
      offset = 0n
    } else {
      return
    }
    if (objectid > range.maxObjectid) return
  }
}

/** Items of exactly one (objectid, type), any offset. */
export async function itemsOf(fd: number, treeId: bigint, objectid: bigint, type: number): Promise<TreeItem[]> {
  const found: TreeItem[] = []
  for await (const item of searchTree(fd, { treeId, minObjectid: objectid, maxObjectid: objectid, minType: type, maxType: type })) {
    if (item.type === type && item.objectid === objectid) found.push(item)
  }
  return found
}
