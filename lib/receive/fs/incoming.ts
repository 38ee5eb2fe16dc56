// One subvolume being received, from SUBVOL/SNAPSHOT to finish or discard. It is created under a
// temporary name (TEMP_PREFIX + random + name) in the destination, so a receive that crashed
// is recognisable by name, and moved to its real name only at the very end:
//   SET_RECEIVED_SUBVOL(uuid, stransid) → read-only → renameat2(RENAME_NOREPLACE) to its name.
// On failure it is never marked received nor read-only, and is deleted unless keepPartial.
import { closeSync, fstatSync } from 'node:fs'
import { constants as osc } from 'node:os'
import { errnoError } from '../../errors.js'
import type { SnapshotCommand, SubvolCommand } from '../../stream/commands.js'
import { nativeCall } from '../../subvolume/call.js'
import { formatOptionalUuid, formatUuid } from '../../uuid.js'
import type { Destination } from './destination.js'
import { checkSubvolumeName, displayPath } from './path-guard.js'
import { C, RESOLVE_CONFINED, sys } from './sys.js'
import { tempName } from './temp-name.js'

const SUBVOL_RDONLY = sys.btrfsConstants.SUBVOL_RDONLY

export interface ReceivedSubvolume {
  /** Absolute path of the received subvolume. */
  path: string
  name: string
  id: bigint
  /** Its own (new) uuid. */
  uuid: string
  /** The stream's uuid, now its received uuid: what later incrementals look parents up by. */
  receivedUuid: string
  /** The parent's uuid for a snapshot (its uuid on this filesystem), else null. */
  parentUuid: string | null
  ctransid: bigint
  /** The sender's ctransid (from the stream), as btrfs receive records it. */
  stransid: bigint
  /** The transaction that recorded the receive on this filesystem. */
  rtransid: bigint
  /** 'subvol' for a full stream, 'snapshot' for an incremental one. */
  kind: 'subvol' | 'snapshot'
}

export class IncomingSubvolume {
  readonly name: Buffer
  readonly tempName: Buffer
  readonly uuid: Buffer
  readonly ctransid: bigint
  readonly kind: 'subvol' | 'snapshot'
  readonly rootFd: number
  readonly #dest: Destination
  /** Set once SET_RECEIVED_SUBVOL succeeded: a discard must then undo it. */
  #marked = false
  #renamed = false

  private constructor(dest: Destination, cmd: SubvolCommand | SnapshotCommand, tempName: Buffer, rootFd: number) {
    this.#dest = dest
    this.name = Buffer.from(cmd.path)
    this.uuid = Buffer.from(cmd.uuid)
    this.ctransid = cmd.ctransid
    this.kind = cmd.type
    this.tempName = tempName
    this.rootFd = rootFd
  }

  get displayName(): string {
    return displayPath(this.name)
  }

  /** Creates the subvolume (empty, or a writable snapshot of the parent found by uuid). */
  static async begin(dest: Destination, cmd: SubvolCommand | SnapshotCommand): Promise<IncomingSubvolume> {
    checkSubvolumeName(cmd.path)
    const finalPath = dest.join(cmd.path)
    try {
      closeSync(sys.openat2(dest.fd, cmd.path, C.O_PATH | C.O_NOFOLLOW, 0, RESOLVE_CONFINED))
      throw errnoError(osc.errno.EEXIST, { syscall: 'ioctl', message: `cannot create subvolume: it exists`, path: finalPath })
    } catch (err) {
      if ((err as { errno?: number }).errno !== -osc.errno.ENOENT) throw err
    }
    const temp = tempName(cmd.path)
    if (cmd.type === 'subvol') {
      await nativeCall(finalPath, (n) => n.ioctlSubvolCreate(dest.fd, temp))
    } else {
      const parent = await dest.subvolumeByUuid(cmd.cloneUuid, 'parent')
      await nativeCall(finalPath, (n) => n.ioctlSnapCreate(dest.fd, parent.fd, temp, 0))
    }
    let rootFd: number
    try {
      rootFd = sys.openat2(dest.fd, temp, C.O_RDONLY | C.O_DIRECTORY, 0, RESOLVE_CONFINED)
      if (fstatSync(rootFd, { bigint: true }).ino !== 256n) {
        closeSync(rootFd)
        throw errnoError(osc.errno.ENOTDIR, { syscall: 'open', message: 'new subvolume is not a subvolume root', path: finalPath })
      }
    } catch (err) {
      await nativeCall(finalPath, (n) => n.ioctlSnapDestroy(dest.fd, temp)).catch(() => undefined)
      throw err
    }
    return new IncomingSubvolume(dest, cmd, temp, rootFd)
  }

  /** Marks it received and read-only, then gives it its name. The caller closed every other fd. */
  async finish(): Promise<ReceivedSubvolume> {
    const finalPath = this.#dest.join(this.name)
    await nativeCall(finalPath, (n) => n.ioctlSetReceivedSubvol(this.rootFd, this.uuid, this.ctransid))
    this.#marked = true
    const flags = await nativeCall(finalPath, (n) => n.ioctlSubvolGetFlags(this.rootFd))
    await nativeCall(finalPath, (n) => n.ioctlSubvolSetFlags(this.rootFd, flags | SUBVOL_RDONLY))
    sys.renameat2(this.#dest.fd, this.tempName, this.#dest.fd, this.name, C.RENAME_NOREPLACE)
    this.#renamed = true
    const info = await nativeCall(finalPath, (n) => n.ioctlGetSubvolInfo(this.rootFd))
    closeSync(this.rootFd)
    return {
      path: finalPath,
      name: this.name.toString(),
      id: info.treeid,
      uuid: formatUuid(info.uuid),
      receivedUuid: formatUuid(info.receivedUuid),
      parentUuid: formatOptionalUuid(info.parentUuid),
      ctransid: info.ctransid,
      stransid: info.stransid,
      rtransid: info.rtransid,
      kind: this.kind,
    }
  }

  /**
   * Abandons it: closes the root fd and deletes the subvolume, or with `keep` leaves it (writable,
   * not received, under its temporary name) and returns that path.
   */
  async discard(keep: boolean): Promise<string | undefined> {
    const tempPath = this.#dest.join(this.tempName)
    if (this.#renamed) {
      // Only reading its info failed: it is complete and in place.
      try {
        closeSync(this.rootFd)
      } catch {
        // Already closed.
      }
      return undefined
    }
    if (keep && this.#marked) {
      // Failed between marking and renaming: a kept partial must not look received.
      const flags = await nativeCall(tempPath, (n) => n.ioctlSubvolGetFlags(this.rootFd))
      await nativeCall(tempPath, (n) => n.ioctlSubvolSetFlags(this.rootFd, flags & ~SUBVOL_RDONLY))
      await nativeCall(tempPath, (n) => n.ioctlSetReceivedSubvol(this.rootFd, Buffer.alloc(16), 0n))
    }
    try {
      closeSync(this.rootFd)
    } catch {
      // Already closed.
    }
    if (keep) return tempPath
    await nativeCall(tempPath, (n) => n.ioctlSnapDestroy(this.#dest.fd, this.tempName))
    return undefined
  }
}
