// Finds subvolumes by id and by uuid, and resolves an id to its path from the top level (5), the
// way btrfs-progs does: ROOT_BACKREF for the parent and name, INO_LOOKUP for the directory part.
// All of it reads the trees through any fd on the filesystem and needs CAP_SYS_ADMIN.
import { nativeCall } from './call.js'
import { decodeRootBackref, decodeRootItem, type RootBackref, type RootItem } from './root-item.js'
import {
  FS_TREE_OBJECTID,
  ROOT_BACKREF_KEY,
  ROOT_ITEM_KEY,
  ROOT_TREE_OBJECTID,
  UUID_KEY_RECEIVED_SUBVOL,
  UUID_KEY_SUBVOL,
  UUID_TREE_OBJECTID,
  itemsOf,
} from './tree-search.js'
import { SUBVOL_ROOT_INO } from './open.js'

/** The root item of subvolume `id`, or undefined when there is none. */
export async function rootItem(fd: number, id: bigint): Promise<RootItem | undefined> {
  const [item] = await itemsOf(fd, ROOT_TREE_OBJECTID, id, ROOT_ITEM_KEY)
  return item ? decodeRootItem(item.data) : undefined
}

/** Where subvolume `id` hangs, or undefined for the top level or a deleted subvolume. */
export async function rootBackref(fd: number, id: bigint): Promise<RootBackref | undefined> {
  const [item] = await itemsOf(fd, ROOT_TREE_OBJECTID, id, ROOT_BACKREF_KEY)
  return item ? decodeRootBackref(item.offset, item.data) : undefined
}

export type UuidKind = 'uuid' | 'received'

/** Subvolume ids recorded in the UUID tree for `uuid` as their own uuid or received uuid. */
export async function idsByUuid(fd: number, uuid: Uint8Array, kind: UuidKind): Promise<bigint[]> {
  const bytes = Buffer.from(uuid.buffer, uuid.byteOffset, 16)
  const objectid = bytes.readBigUInt64LE(0)
  const offset = bytes.readBigUInt64LE(8)
  const type = kind === 'uuid' ? UUID_KEY_SUBVOL : UUID_KEY_RECEIVED_SUBVOL
  const ids: bigint[] = []
  for (const item of await itemsOf(fd, UUID_TREE_OBJECTID, objectid, type)) {
    if (item.offset !== offset) continue
    for (let pos = 0; pos + 8 <= item.data.length; pos += 8) ids.push(item.data.readBigUInt64LE(pos))
  }
  return ids
}

/** Path of subvolume `id` relative to the top level, e.g. 'snaps/a'; '' for the top level. */
export async function subvolumePath(fd: number, id: bigint): Promise<string | undefined> {
  const parts: string[] = []
  let current = id
  for (let depth = 0; current !== FS_TREE_OBJECTID; depth++) {
    if (depth > 4096) return undefined
    const backref = await rootBackref(fd, current)
    if (!backref) return undefined
    let part = backref.name.toString('latin1')
    if (backref.dirid !== SUBVOL_ROOT_INO) {
      const dir = await nativeCall(undefined, (n) => n.ioctlInoLookup(fd, backref.parentId, backref.dirid))
      part = dir.name.toString('latin1') + part
    }
    parts.unshift(part)
    current = backref.parentId
  }
  return Buffer.from(parts.join('/'), 'latin1').toString()
}
