// The path-tracking model of a send stream's inodes, shared by list() and diff(). A stream names
// inodes only by paths that change as it runs (the kernel parks inodes under orphan names such
// as `o257-5-0` and renames them into place later), so the model keeps a tree of inode objects
// and moves links between them exactly as a receiver would, without touching any filesystem.
//
// An incremental stream mentions an inode of the parent snapshot only by the path it has at that
// moment. The first time such a path is walked, each missing component is materialized as a
// "pre-existing" inode with its original link (directory inode, name) recorded; that is all the
// model ever knows about the parent snapshot. Links are (directory inode, name) pairs, never full
// paths, so moving a directory changes one link and none of its children's. LINK names an
// existing path, which is how several names of one pre-existing inode come together.
import { StreamFormatError } from '../errors.js'
import type { Command, Timespec } from '../stream/commands.js'

export type EntryType = 'file' | 'dir' | 'symlink' | 'fifo' | 'socket' | 'char' | 'block'

/** What a stream did to an inode that existed before it (diff's `changes`). */
export type Change = 'data' | 'mode' | 'owner' | 'xattrs' | 'flags' | 'entries' | 'times'

export interface Link {
  dir: Inode
  name: string
}

export class Inode {
  /** The inode number, known for inodes the stream creates (and the root). */
  ino?: bigint
  /** Type: known when created, or from the command that used it (rmdir, write). */
  type?: EntryType
  mode?: number
  uid?: number
  gid?: number
  /** Exact when created by the stream or truncated; otherwise the end of the last write, if larger. */
  size?: number
  sizeExact = false
  mtime?: Timespec
  target?: Buffer
  rdev?: bigint
  readonly links: Link[] = []
  readonly origLinks: Link[] = []
  /** Directories: the current entries, and the original entries the stream revealed. */
  readonly children = new Map<string, Inode>()
  readonly origChildren = new Map<string, Inode>()
  readonly changes = new Set<Change>()
  /** Set by UTIMES. */
  timesSent = false

  constructor(
    /** Created by the stream (true) or part of the parent snapshot (false). */
    readonly created: boolean,
    /** Order of first appearance: a stable order for output. */
    readonly seq: number,
  ) {}

  /** The current path, '' for the root; undefined once unlinked everywhere. */
  path(): string | undefined {
    return this.links.length === 0 ? (this.isRoot() ? '' : undefined) : linkPath(this.links[0], (i) => i.path())
  }

  /** The path in the parent snapshot (pre-existing inodes only). */
  origPath(): string | undefined {
    if (this.isRoot()) return ''
    return this.origLinks.length === 0 ? undefined : linkPath(this.origLinks[0], (i) => i.origPath())
  }

  isRoot(): boolean {
    return this.seq === 0
  }
}

function linkPath(link: Link, dirPath: (i: Inode) => string | undefined): string | undefined {
  const parent = dirPath(link.dir)
  if (parent === undefined) return undefined
  return parent === '' ? link.name : `${parent}/${link.name}`
}

/** Path of a link in the current tree or the parent snapshot's. */
export function currentLinkPath(link: Link): string | undefined {
  return linkPath(link, (i) => i.path())
}
export function originalLinkPath(link: Link): string | undefined {
  return linkPath(link, (i) => i.origPath())
}

const TYPE_OF_MODE: Record<number, EntryType> = {
  0o010000: 'fifo',
  0o020000: 'char',
  0o040000: 'dir',
  0o060000: 'block',
  0o100000: 'file',
  0o120000: 'symlink',
  0o140000: 'socket',
}

/** One subvolume's stream applied to the model. Names are latin1 strings: bytes kept one to one. */
export class StreamModel {
  readonly root: Inode
  readonly inodes: Inode[] = []
  /** The subvolume's name and whether the stream is incremental (SNAPSHOT) or full (SUBVOL). */
  readonly subvolume: string
  readonly incremental: boolean

  constructor(head: Command & { type: 'subvol' | 'snapshot' }) {
    this.subvolume = head.path.toString('latin1')
    this.incremental = head.type === 'snapshot'
    this.root = this.newInode(!this.incremental)
    this.root.type = 'dir'
    this.root.ino = 256n
  }

  private newInode(created: boolean): Inode {
    const inode = new Inode(created, this.inodes.length)
    this.inodes.push(inode)
    return inode
  }

  private fail(cmd: Command, detail: string): never {
    throw new StreamFormatError('BTRFS_STREAM_PATH_UNKNOWN', detail, {
      offset: cmd.offset,
      commandIndex: cmd.index,
      commandName: cmd.type,
    })
  }

  /** The inode at `path` now, materializing unseen parts of the parent snapshot on the way. */
  private resolve(cmd: Command, path: Buffer): Inode {
    let at = this.root
    for (const name of splitPath(path)) at = this.child(cmd, at, name, path)
    return at
  }

  private child(cmd: Command, dir: Inode, name: string, whole: Buffer): Inode {
    const found = dir.children.get(name)
    if (found) return found
    // Only a directory of the parent snapshot can hold entries the stream has not named yet,
    // and only under names it has not seen leave.
    if (dir.created || dir.origChildren.has(name)) this.fail(cmd, `${cmd.type}: no entry '${name}' on the path '${whole.toString('latin1')}'`)
    const inode = this.newInode(false)
    const link = { dir, name }
    inode.origLinks.push(link)
    inode.links.push(link)
    dir.origChildren.set(name, inode)
    dir.children.set(name, inode)
    if (dir.type === undefined) dir.type = 'dir'
    return inode
  }

  /** The directory and final name of `path`; the entry itself need not exist. */
  private parentOf(cmd: Command, path: Buffer): Link {
    const parts = splitPath(path)
    const name = parts.pop()
    if (name === undefined) this.fail(cmd, `${cmd.type}: empty path`)
    let dir = this.root
    for (const part of parts) dir = this.child(cmd, dir, part, path)
    return { dir, name }
  }

  /** The entry at `path` with the link that names it. */
  private entry(cmd: Command, path: Buffer): Link & { inode: Inode } {
    const { dir, name } = this.parentOf(cmd, path)
    return { dir, name, inode: this.child(cmd, dir, name, path) }
  }

  private addLink(link: Link, inode: Inode): void {
    const existing = link.dir.children.get(link.name)
    if (existing) this.dropLink(existing, link.dir, link.name)
    link.dir.children.set(link.name, inode)
    inode.links.push(link)
  }

  private dropLink(inode: Inode, dir: Inode, name: string): void {
    dir.children.delete(name)
    const i = inode.links.findIndex((l) => l.dir === dir && l.name === name)
    if (i >= 0) inode.links.splice(i, 1)
  }

  private create(cmd: Command & { path: Buffer; ino: bigint }, type: EntryType): Inode {
    const link = this.parentOf(cmd, cmd.path)
    const inode = this.newInode(true)
    inode.ino = cmd.ino
    inode.type = type
    inode.size = 0
    inode.sizeExact = true
    this.addLink(link, inode)
    return inode
  }

  /** Applies one command of this subvolume's stream (after its SUBVOL or SNAPSHOT). */
  apply(cmd: Command): void {
    switch (cmd.type) {
      case 'mkfile':
        this.create(cmd, 'file')
        return
      case 'mkdir':
        this.create(cmd, 'dir')
        return
      case 'mknod':
      case 'mkfifo':
      case 'mksock': {
        const inode = this.create(cmd, TYPE_OF_MODE[cmd.mode & 0o170000] ?? 'file')
        inode.mode = cmd.mode & 0o7777
        inode.rdev = cmd.rdev
        return
      }
      case 'symlink': {
        const inode = this.create(cmd, 'symlink')
        // Linux symlinks are always 0777 and the kernel sends no chmod for them.
        inode.mode = 0o777
        inode.target = Buffer.from(cmd.pathLink)
        inode.size = cmd.pathLink.length
        return
      }
      case 'rename': {
        const from = this.entry(cmd, cmd.path)
        this.dropLink(from.inode, from.dir, from.name)
        this.addLink(this.parentOf(cmd, cmd.pathTo), from.inode)
        return
      }
      case 'link': {
        const inode = this.resolve(cmd, cmd.pathLink)
        this.addLink(this.parentOf(cmd, cmd.path), inode)
        return
      }
      case 'unlink':
      case 'rmdir': {
        const { dir, name, inode } = this.entry(cmd, cmd.path)
        if (cmd.type === 'rmdir') inode.type = 'dir'
        this.dropLink(inode, dir, name)
        return
      }
      case 'set_xattr':
      case 'remove_xattr':
        this.resolve(cmd, cmd.path).changes.add('xattrs')
        return
      case 'write':
        this.wrote(this.resolve(cmd, cmd.path), cmd.fileOffset + cmd.data.length)
        return
      case 'encoded_write':
        this.wrote(this.resolve(cmd, cmd.path), cmd.fileOffset + cmd.unencodedFileLen)
        return
      case 'clone':
        this.wrote(this.resolve(cmd, cmd.path), cmd.fileOffset + cmd.cloneLen)
        return
      case 'update_extent':
        this.wrote(this.resolve(cmd, cmd.path), cmd.fileOffset + cmd.size)
        return
      case 'fallocate': {
        // Mode bit 1 is KEEP_SIZE: only a plain fallocate can grow the file.
        const inode = this.resolve(cmd, cmd.path)
        this.wrote(inode, (cmd.fallocateMode & 1) === 0 ? cmd.fileOffset + cmd.size : 0)
        return
      }
      case 'truncate': {
        const inode = this.resolve(cmd, cmd.path)
        this.wrote(inode, 0)
        inode.size = cmd.size
        inode.sizeExact = true
        return
      }
      case 'chmod': {
        const inode = this.resolve(cmd, cmd.path)
        inode.mode = cmd.mode & 0o7777
        inode.changes.add('mode')
        return
      }
      case 'chown': {
        const inode = this.resolve(cmd, cmd.path)
        inode.uid = cmd.uid
        inode.gid = cmd.gid
        inode.changes.add('owner')
        return
      }
      case 'utimes': {
        const inode = this.resolve(cmd, cmd.path)
        inode.mtime = cmd.mtime
        inode.timesSent = true
        return
      }
      case 'fileattr':
        this.resolve(cmd, cmd.path).changes.add('flags')
        return
      case 'enable_verity':
        this.resolve(cmd, cmd.path).changes.add('flags')
        return
      default:
        // end, unknown commands: nothing to track.
        return
    }
  }

  private wrote(inode: Inode, end: number): void {
    if (inode.type === undefined) inode.type = 'file'
    inode.changes.add('data')
    if (inode.size === undefined || end > inode.size) inode.size = end
  }
}

/** A stream path's components as latin1 strings ('' and '.' parts dropped: the root is ""). */
export function splitPath(path: Buffer): string[] {
  return path
    .toString('latin1')
    .split('/')
    .filter((p) => p !== '' && p !== '.')
}
