// Opens btrfs directories and subvolume roots as fds for the ioctls, with the checks the kernel
// reports poorly made first: not btrfs (BTRFS_NOT_BTRFS), not a subvolume root
// (BTRFS_NOT_SUBVOLUME: its inode is not 256). Callers close what they open.
import { constants, promises as fsp } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { BtrfsError, fromNodeSystemError } from '../errors.js'
import { nativeCall } from './call.js'

const BTRFS_SUPER_MAGIC = 0x9123683e
/** Inode number of every subvolume's root directory (BTRFS_FIRST_FREE_OBJECTID). */
export const SUBVOL_ROOT_INO = 256n

export interface OpenSubvolume {
  path: string
  handle: FileHandle
  fd: number
  /** The subvolume's root id (tree id). */
  id: bigint
}

/** Opens a directory on btrfs read-only; rejects BTRFS_NOT_BTRFS elsewhere. */
export async function openBtrfsDir(path: string): Promise<FileHandle> {
  try {
    const stat = await fsp.statfs(path)
    if (stat.type !== BTRFS_SUPER_MAGIC) {
      throw new BtrfsError('BTRFS_NOT_BTRFS', `not on a btrfs filesystem: '${path}'`, { path })
    }
    return await fsp.open(path, constants.O_RDONLY | constants.O_DIRECTORY)
  } catch (err) {
    throw fromNodeSystemError(err)
  }
}

/** Opens a subvolume root and reads its id. */
export async function openSubvolume(path: string): Promise<OpenSubvolume> {
  const handle = await openBtrfsDir(path)
  try {
    const stat = await handle.stat({ bigint: true })
    if (stat.ino !== SUBVOL_ROOT_INO) {
      throw new BtrfsError('BTRFS_NOT_SUBVOLUME', `not a btrfs subvolume: '${path}'`, { path })
    }
    const { treeid } = await nativeCall(path, (n) => n.ioctlInoLookup(handle.fd, 0n, SUBVOL_ROOT_INO))
    return { path, handle, fd: handle.fd, id: treeid }
  } catch (err) {
    await handle.close()
    throw err
  }
}

/** Runs fn with a subvolume open, closing it afterwards. */
export async function withSubvolume<T>(path: string, fn: (subvol: OpenSubvolume) => Promise<T>): Promise<T> {
  const subvol = await openSubvolume(path)
  try {
    return await fn(subvol)
  } finally {
    await subvol.handle.close()
  }
}

/** Runs fn with a btrfs directory open, closing it afterwards. */
export async function withBtrfsDir<T>(path: string, fn: (handle: FileHandle) => Promise<T>): Promise<T> {
  const handle = await openBtrfsDir(path)
  try {
    return await fn(handle)
  } finally {
    await handle.close()
  }
}
