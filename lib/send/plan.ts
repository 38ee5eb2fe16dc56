// Turns validated send options into the exact ioctl arguments for each subvolume, as btrfs send
// does: open and check every subvolume (btrfs, subvolume root, one filesystem, read-only), resolve
// parent and clone sources by path or id, negotiate the protocol, choose the parent from the
// clone sources when none was given, and set the header/END flags of the -e form.
import { readFileSync } from 'node:fs'
import { BtrfsError } from '../errors.js'
import { native } from '../native.js'
import { nativeCall } from '../subvolume/call.js'
import { idsByUuid, rootItem } from '../subvolume/lookup.js'
import { openSubvolume, type OpenSubvolume } from '../subvolume/open.js'
import { isZeroUuid } from '../uuid.js'
import type { NormalizedSendOptions, SubvolumeRef } from './options.js'
import { kernelSendProtocol } from './protocol.js'

const CAP_SYS_ADMIN = 21

export interface SendPart {
  subvol: OpenSubvolume
  parentRoot: bigint
  cloneSources: bigint[]
  flags: number
  version: number
}

export interface SendPlan {
  parts: SendPart[]
  /** Closes every fd the plan opened. */
  close(): Promise<void>
}

interface ResolvedRef {
  id: bigint
  label: string
}

/** CAP_SYS_ADMIN in the effective set: BTRFS_IOC_SEND checks it before anything else. */
export function hasSysAdmin(): boolean {
  try {
    const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('CapEff:'))
    return line !== undefined && ((BigInt(`0x${line.slice(7).trim()}`) >> BigInt(CAP_SYS_ADMIN)) & 1n) === 1n
  } catch {
    return process.getuid?.() === 0
  }
}

function resolveProtocol(options: NormalizedSendOptions): { flags: number; version: number } {
  const supported = kernelSendProtocol()
  const wanted = options.protocol === 'latest' ? supported : options.protocol ?? (options.compressed ? 2 : 1)
  if (wanted > supported) {
    throw new BtrfsError(
      'BTRFS_SEND_PROTOCOL_UNSUPPORTED',
      `this kernel sends protocol ${supported} at most, ${wanted} was requested`,
    )
  }
  if (options.compressed && wanted < 2) {
    throw new BtrfsError('BTRFS_SEND_PROTOCOL_UNSUPPORTED', 'compressed send needs protocol 2, this kernel offers 1')
  }
  // Kernels that predate versioning reject the VERSION flag, so it is only set where sysfs shows v2+.
  // BTRFS_SEND_FLAG_* come from the addon (the uapi header); which to set is decided here.
  const F = native().btrfsConstants
  let flags = supported > 1 ? F.SEND_FLAG_VERSION : 0
  if (options.compressed) flags |= F.SEND_FLAG_COMPRESSED
  if (options.noFileData) flags |= F.SEND_FLAG_NO_FILE_DATA
  return { flags, version: supported > 1 ? wanted : 0 }
}

async function fsid(subvol: OpenSubvolume): Promise<string> {
  const info = await nativeCall(subvol.path, (n) => n.ioctlFsInfo(subvol.fd))
  return info.fsid.toString('hex')
}

async function requireReadOnly(subvol: OpenSubvolume, role: string): Promise<void> {
  const flags = await nativeCall(subvol.path, (n) => n.ioctlSubvolGetFlags(subvol.fd))
  if ((flags & native().btrfsConstants.SUBVOL_RDONLY) === 0) {
    throw new BtrfsError(
      'BTRFS_SEND_NOT_READONLY',
      `${role} '${subvol.path}' is not read-only; snapshot it with { readOnly: true } or set it read-only first`,
      { path: subvol.path },
    )
  }
}

export async function planSend(options: NormalizedSendOptions): Promise<SendPlan> {
  if (!hasSysAdmin()) {
    throw new BtrfsError('BTRFS_PERMISSION_DENIED', 'sending needs CAP_SYS_ADMIN (run as root)')
  }
  const proto = resolveProtocol(options)
  const opened: OpenSubvolume[] = []
  const close = async () => {
    await Promise.all(opened.splice(0).map((s) => s.handle.close().catch(() => undefined)))
  }
  try {
    const open = async (p: string) => {
      const subvol = await openSubvolume(p)
      opened.push(subvol)
      return subvol
    }
    const subvols: OpenSubvolume[] = []
    for (const p of options.subvolumes) subvols.push(await open(p))
    const fsId = await fsid(subvols[0])
    for (const s of subvols) {
      if ((await fsid(s)) !== fsId) {
        throw new BtrfsError('BTRFS_CROSS_FILESYSTEM', `'${s.path}' is on another filesystem than '${subvols[0].path}'`, { path: s.path })
      }
      await requireReadOnly(s, 'subvolume')
    }
    const anchor = subvols[0].fd

    const resolve = async (r: SubvolumeRef, role: string): Promise<ResolvedRef> => {
      if (typeof r === 'string') {
        const s = await open(r)
        if ((await fsid(s)) !== fsId) {
          throw new BtrfsError('BTRFS_CROSS_FILESYSTEM', `${role} '${r}' is on another filesystem than '${subvols[0].path}'`, { path: r })
        }
        await requireReadOnly(s, role)
        return { id: s.id, label: r }
      }
      const id = BigInt(r)
      const item = await rootItem(anchor, id)
      if (!item || item.refs === 0) throw new BtrfsError('BTRFS_SUBVOLUME_NOT_FOUND', `${role} id ${id} does not exist on this filesystem`)
      if (!item.readOnly) throw new BtrfsError('BTRFS_SEND_NOT_READONLY', `${role} id ${id} is not read-only`)
      return { id, label: `id ${id}` }
    }

    const parent = options.parent === undefined ? undefined : await resolve(options.parent, 'parent')
    const clones: bigint[] = []
    for (const c of options.cloneSources) clones.push((await resolve(c, 'clone source')).id)
    // btrfs send also offers the parent as a clone source.
    if (parent && !clones.includes(parent.id)) clones.push(parent.id)

    const parts: SendPart[] = []
    for (let i = 0; i < subvols.length; i++) {
      let flags = proto.flags
      if (options.singleStream) {
        if (i > 0) flags |= native().btrfsConstants.SEND_FLAG_OMIT_STREAM_HEADER
        if (i < subvols.length - 1) flags |= native().btrfsConstants.SEND_FLAG_OMIT_END_CMD
      }
      let parentRoot = parent?.id ?? 0n
      if (!parent && options.cloneSources.length > 0) {
        parentRoot = await chooseParent(anchor, subvols[i], clones)
      }
      parts.push({ subvol: subvols[i], parentRoot, cloneSources: [...clones], flags, version: proto.version })
      // As btrfs send does: each subvolume sent this way may serve the next as parent or clone source.
      if (!parent && options.cloneSources.length > 0 && !clones.includes(subvols[i].id)) clones.push(subvols[i].id)
    }
    return { parts, close }
  } catch (err) {
    await close()
    throw err
  }
}

/**
 * btrfs send's parent choice for -c without -p: the snapshot origin (the subvolume whose uuid is
 * our parent uuid) when it is a clone source; else the clone source sharing that origin whose
 * ctransid is closest to the origin's.
 */
async function chooseParent(fd: number, subvol: OpenSubvolume, clones: bigint[]): Promise<bigint> {
  const info = await nativeCall(subvol.path, (n) => n.ioctlGetSubvolInfo(subvol.fd))
  const fail = (why: string) =>
    new BtrfsError('BTRFS_SEND_NO_PARENT', `cannot choose a parent for '${subvol.path}' from the clone sources: ${why}`, { path: subvol.path })
  if (isZeroUuid(info.parentUuid)) throw fail('it is not a snapshot (no parent uuid)')
  const [originId] = await idsByUuid(fd, info.parentUuid, 'uuid')
  const origin = originId === undefined ? undefined : await rootItem(fd, originId)
  if (originId === undefined || !origin) throw fail('the subvolume it was snapshotted from no longer exists')
  if (clones.includes(originId)) return originId
  let best: bigint | undefined
  let bestDistance = 0n
  for (const id of clones) {
    const item = await rootItem(fd, id)
    if (!item || isZeroUuid(item.parentUuid) || !item.parentUuid.equals(origin.uuid)) continue
    const distance = item.ctransid > origin.ctransid ? item.ctransid - origin.ctransid : origin.ctransid - item.ctransid
    if (best === undefined || distance < bestDistance) {
      best = id
      bestDistance = distance
    }
  }
  if (best === undefined) throw fail('no clone source was snapshotted from the same origin')
  return best
}
