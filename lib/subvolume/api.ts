// The public subvolume API: create, snapshot, delete, read-only flag, info and list. Each call
// opens what it needs, checks what the kernel reports poorly (not btrfs, not a subvolume), does
// one ioctl, and closes again. Errors are BtrfsError / BtrfsSystemError carrying the path.
import path from 'node:path'
import { InvalidArgumentError } from '../errors.js'
import { formatOptionalUuid, formatUuid, isZeroUuid } from '../uuid.js'
import { native } from '../native.js'
import { nativeCall } from './call.js'
import { subvolumePath } from './lookup.js'
import { openBtrfsDir, SUBVOL_ROOT_INO, withBtrfsDir, withSubvolume } from './open.js'
import { decodeRootBackref, decodeRootItem, type RootItem } from './root-item.js'
import { LAST_FREE_OBJECTID, ROOT_BACKREF_KEY, ROOT_ITEM_KEY, ROOT_TREE_OBJECTID, searchTree } from './tree-search.js'

/** Ioctl flag for a read-only subvolume (BTRFS_SUBVOL_RDONLY), as GETFLAGS/SETFLAGS use it. */
const RDONLY = (): number => native().btrfsConstants.SUBVOL_RDONLY

export interface SubvolumeInfo {
  id: bigint
  name: string
  /** Path relative to the top-level subvolume, as `btrfs subvolume show` prints it; undefined without CAP_SYS_ADMIN. */
  path: string | undefined
  parentId: bigint
  dirId: bigint
  uuid: string
  parentUuid: string | null
  receivedUuid: string | null
  generation: bigint
  ctransid: bigint
  otransid: bigint
  stransid: bigint
  rtransid: bigint
  /** On-disk root flags; bit 0 is read-only. */
  flags: bigint
  readOnly: boolean
  ctime: Date
  otime: Date
  stime: Date | null
  rtime: Date | null
}

export interface SubvolumeEntry {
  id: bigint
  parentId: bigint
  /** Absolute path, below the directory that was listed. */
  path: string
  /** Path relative to the top-level subvolume. */
  topLevelPath: string
  uuid: string | null
  parentUuid: string | null
  receivedUuid: string | null
  generation: bigint
  ctransid: bigint
  otransid: bigint
  readOnly: boolean
}

function requirePath(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidArgumentError(`${name} must be a non-empty string path, got ${describe(value)}`)
  }
  return path.resolve(value)
}

export function describe(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'string') return `'${value}'`
  if (typeof value === 'bigint') return `${value}n`
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object'
  return `${typeof value} ${String(value)}`
}

/** Splits a new subvolume's path into its (existing) parent directory and its name. */
function splitNew(target: string): { dir: string; name: Buffer } {
  const name = path.basename(target)
  if (name === '' || name === '.' || name === '..') {
    throw new InvalidArgumentError(`cannot use '${target}' as a subvolume name`)
  }
  return { dir: path.dirname(target), name: Buffer.from(name) }
}

function toDate(ts: BtrfsNative.Timespec): Date {
  return new Date(Number(ts.sec) * 1000 + Math.floor(ts.nsec / 1e6))
}

/** Creates an empty subvolume at `target` (its parent directory must exist on btrfs). */
export async function create(target: string): Promise<void> {
  const abs = requirePath(target, 'path')
  const { dir, name } = splitNew(abs)
  await withBtrfsDir(dir, (handle) => nativeCall(abs, (n) => n.ioctlSubvolCreate(handle.fd, name)))
}

export interface SnapshotOptions {
  /** Make the snapshot read-only (needed to send it). Default false. */
  readOnly?: boolean
}

/** Snapshots subvolume `source` to the new path `target`. */
export async function snapshot(source: string, target: string, options: SnapshotOptions = {}): Promise<void> {
  const src = requirePath(source, 'source')
  const abs = requirePath(target, 'target')
  if (options.readOnly !== undefined && typeof options.readOnly !== 'boolean') {
    throw new InvalidArgumentError(`options.readOnly must be a boolean, got ${describe(options.readOnly)}`)
  }
  const { dir, name } = splitNew(abs)
  await withSubvolume(src, (subvol) =>
    withBtrfsDir(dir, (handle) =>
      nativeCall(abs, (n) => n.ioctlSnapCreate(handle.fd, subvol.fd, name, options.readOnly ? RDONLY() : 0)),
    ),
  )
}

/** Deletes the subvolume at `target` (read-only ones too). */
async function deleteSubvolume(target: string): Promise<void> {
  const abs = requirePath(target, 'path')
  // Refuse plain directories up front: the kernel's answer for them (ENOTEMPTY, EINVAL) misleads.
  await withSubvolume(abs, async () => undefined)
  const { dir, name } = splitNew(abs)
  await withBtrfsDir(dir, (handle) => nativeCall(abs, (n) => n.ioctlSnapDestroy(handle.fd, name)))
}
export { deleteSubvolume as delete }

/** Whether the subvolume at `target` is read-only. */
export async function isReadOnly(target: string): Promise<boolean> {
  const abs = requirePath(target, 'path')
  return withSubvolume(abs, async (subvol) => {
    const flags = await nativeCall(abs, (n) => n.ioctlSubvolGetFlags(subvol.fd))
    return (flags & RDONLY()) !== 0
  })
}

export interface SetReadOnlyOptions {
  /**
   * Allow making a received subvolume writable. Like `btrfs property set -f`, this also clears
   * its received uuid, since a changed received subvolume would corrupt later incrementals.
   */
  force?: boolean
}

/** Sets or clears the read-only flag of the subvolume at `target`. */
export async function setReadOnly(target: string, readOnly: boolean, options: SetReadOnlyOptions = {}): Promise<void> {
  const abs = requirePath(target, 'path')
  if (typeof readOnly !== 'boolean') throw new InvalidArgumentError(`readOnly must be a boolean, got ${describe(readOnly)}`)
  await withSubvolume(abs, async (subvol) => {
    const flags = await nativeCall(abs, (n) => n.ioctlSubvolGetFlags(subvol.fd))
    if (readOnly === ((flags & RDONLY()) !== 0)) return
    if (readOnly) {
      await nativeCall(abs, (n) => n.ioctlSubvolSetFlags(subvol.fd, flags | RDONLY()))
      return
    }
    const info = await nativeCall(abs, (n) => n.ioctlGetSubvolInfo(subvol.fd))
    const received = !isZeroUuid(info.receivedUuid)
    if (received && !options.force) {
      throw new InvalidArgumentError(
        `'${abs}' was received (received uuid ${formatUuid(info.receivedUuid)}); making it writable would break ` +
          'later incremental receives. Pass { force: true } to do it anyway and clear the received uuid.',
      )
    }
    await nativeCall(abs, (n) => n.ioctlSubvolSetFlags(subvol.fd, flags & ~RDONLY()))
    if (received) await nativeCall(abs, (n) => n.ioctlSetReceivedSubvol(subvol.fd, Buffer.alloc(16), 0n))
  })
}

/** Everything the kernel knows about the subvolume at `target`. */
export async function info(target: string): Promise<SubvolumeInfo> {
  const abs = requirePath(target, 'path')
  return withSubvolume(abs, async (subvol) => {
    const raw = await nativeCall(abs, (n) => n.ioctlGetSubvolInfo(subvol.fd))
    let topPath: string | undefined
    try {
      topPath = await subvolumePath(subvol.fd, raw.treeid)
    } catch (err) {
      // Path resolution reads the trees, which needs CAP_SYS_ADMIN; everything else does not.
      if ((err as { code?: string }).code !== 'EPERM') throw err
    }
    return {
      id: raw.treeid,
      name: raw.name.toString(),
      path: topPath,
      parentId: raw.parentId,
      dirId: raw.dirid,
      uuid: formatUuid(raw.uuid),
      parentUuid: formatOptionalUuid(raw.parentUuid),
      receivedUuid: formatOptionalUuid(raw.receivedUuid),
      generation: raw.generation,
      ctransid: raw.ctransid,
      otransid: raw.otransid,
      stransid: raw.stransid,
      rtransid: raw.rtransid,
      flags: raw.flags,
      readOnly: (raw.flags & 1n) !== 0n,
      ctime: toDate(raw.ctime),
      otime: toDate(raw.otime),
      stime: raw.stime.sec === 0n && raw.stime.nsec === 0 ? null : toDate(raw.stime),
      rtime: raw.rtime.sec === 0n && raw.rtime.nsec === 0 ? null : toDate(raw.rtime),
    }
  })
}

/**
 * The subvolumes below directory `target` (any depth), sorted by path. `target` itself, if it
 * is a subvolume, is not listed. Needs CAP_SYS_ADMIN (it reads the root tree).
 */
export async function list(target: string): Promise<SubvolumeEntry[]> {
  const abs = requirePath(target, 'path')
  const handle = await openBtrfsDir(abs)
  try {
    const fd = handle.fd
    const stat = await handle.stat({ bigint: true })
    const { treeid } = await nativeCall(abs, (n) => n.ioctlInoLookup(fd, 0n, SUBVOL_ROOT_INO))
    // Where `target` is, relative to the top level: its subvolume's path plus the directory part.
    let base = (await subvolumePath(fd, treeid)) ?? ''
    if (stat.ino !== SUBVOL_ROOT_INO) {
      const dir = await nativeCall(abs, (n) => n.ioctlInoLookup(fd, treeid, stat.ino))
      base = joinRel(base, dir.name.toString().replace(/\/$/, ''))
    }

    const items = new Map<bigint, { root?: RootItem; parentId?: bigint }>()
    for await (const item of searchTree(fd, {
      treeId: ROOT_TREE_OBJECTID,
      minObjectid: SUBVOL_ROOT_INO,
      maxObjectid: LAST_FREE_OBJECTID,
      minType: ROOT_ITEM_KEY,
      maxType: ROOT_BACKREF_KEY,
    })) {
      if (item.type !== ROOT_ITEM_KEY && item.type !== ROOT_BACKREF_KEY) continue
      const entry = items.get(item.objectid) ?? {}
      if (item.type === ROOT_ITEM_KEY) entry.root = decodeRootItem(item.data)
      else entry.parentId = decodeRootBackref(item.offset, item.data).parentId
      items.set(item.objectid, entry)
    }

    const out: SubvolumeEntry[] = []
    for (const [id, entry] of items) {
      // No backref: a deleted subvolume waiting for cleanup.
      if (!entry.root || entry.parentId === undefined) continue
      const topLevelPath = await subvolumePath(fd, id)
      if (topLevelPath === undefined) continue
      const rel = relativeTo(base, topLevelPath)
      if (rel === undefined) continue
      out.push({
        id,
        parentId: entry.parentId,
        path: path.join(abs, rel),
        topLevelPath,
        uuid: formatOptionalUuid(entry.root.uuid),
        parentUuid: formatOptionalUuid(entry.root.parentUuid),
        receivedUuid: formatOptionalUuid(entry.root.receivedUuid),
        generation: entry.root.generation,
        ctransid: entry.root.ctransid,
        otransid: entry.root.otransid,
        readOnly: entry.root.readOnly,
      })
    }
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  } finally {
    await handle.close()
  }
}

function joinRel(a: string, b: string): string {
  return a === '' ? b : b === '' ? a : `${a}/${b}`
}

/** `p` relative to `base` when strictly below it, else undefined. */
function relativeTo(base: string, p: string): string | undefined {
  if (base === '') return p === '' ? undefined : p
  return p.startsWith(`${base}/`) ? p.slice(base.length + 1) : undefined
}
