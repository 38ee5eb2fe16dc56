// list(): what a stream holds, as `tar -tv` shows an archive. For a full stream every entry with
// its final path, type, mode, owner, size, mtime and link target; for an incremental stream the
// entries it creates or changes (an unchanged file of the parent is not in the stream). Entries
// come in path order (bytewise), one per name: a hard link's later names carry `hardlink`, the
// first name, as tar's "link to".
import type { ByteSource, ParseOptions } from '../stream/parser.js'
import type { Timespec } from '../stream/commands.js'
import type { EntryType, Inode, StreamModel } from './model.js'
import { currentLinkPath } from './model.js'
import { readModels } from './read-models.js'

export type ListOptions = ParseOptions

export interface ListEntry {
  /** Name of the subvolume the stream creates (several streams may share one input). */
  subvolume: string
  /** Final path inside the subvolume, as bytes (names need not be UTF-8). */
  path: Buffer
  /** Unknown only for an entry of the parent snapshot the stream changed without saying. */
  type?: EntryType
  /** Permission bits (mode & 0o7777), when the stream sets them. */
  mode?: number
  uid?: number
  gid?: number
  /** Bytes; for an existing file of an incremental stream only when the stream truncates it. */
  size?: number
  mtime?: Timespec
  /** Symlink target, verbatim. */
  target?: Buffer
  /** Device number of char and block devices (kernel new_encode_dev value). */
  rdev?: bigint
  /** For the second and later names of one inode: the first name (tar's "link to"). */
  hardlink?: Buffer
  /** Inode number, known for inodes the stream creates. */
  ino?: bigint
  /** True when the stream creates the inode (always, for a full stream). */
  created: boolean
}

/** Whether an incremental stream did anything to this inode worth listing. */
function touched(inode: Inode): boolean {
  if (inode.created || inode.changes.size > 0 || inode.timesSent) return true
  return inode.links.some((l) => !inode.origLinks.includes(l))
}

export function entriesOf(model: StreamModel): ListEntry[] {
  const out: ListEntry[] = []
  for (const inode of model.inodes) {
    if (inode.isRoot() || !touched(inode)) continue
    const paths = inode.links.map((l) => currentLinkPath(l)).filter((p): p is string => p !== undefined)
    paths.sort()
    paths.forEach((p, i) => {
      out.push({
        subvolume: model.subvolume,
        path: Buffer.from(p, 'latin1'),
        type: inode.type,
        mode: inode.mode,
        uid: inode.uid,
        gid: inode.gid,
        size: inode.sizeExact ? inode.size : undefined,
        mtime: inode.mtime,
        target: inode.target,
        rdev: inode.rdev,
        hardlink: i > 0 ? Buffer.from(paths[0], 'latin1') : undefined,
        ino: inode.ino,
        created: inode.created,
      })
    })
  }
  return out.sort((a, b) => Buffer.compare(a.path, b.path))
}

/**
 * Lists the entries of every stream in `source` (a byte source or a file path). The whole
 * stream is read before the first entry of it is yielded: final paths need every rename.
 */
export async function* list(source: ByteSource | string, options: ListOptions = {}): AsyncGenerator<ListEntry, void, undefined> {
  for await (const model of readModels(source, options)) yield* entriesOf(model)
}
