// diff(): what changed between the parent snapshot and the snapshot an incremental stream builds,
// by path, as `zfs diff` reports it. Decided per inode from the model (see model.ts):
// - an inode the stream creates: `added`, once per final name;
// - an inode of the parent that loses every name: `deleted`, once per original name;
// - one name swapped for another (a move or rename, orphan detours resolved): `renamed`, with
//   `from`; a moved directory is one record, its children keep their links and are not listed;
// - other name changes: `added` / `deleted` per name gained or lost. For an inode with several
//   names (hard links) the stream does not say which old name became which new one: the kernel
//   links each new name from whichever name it holds first and unlinks the lost ones, and a
//   name the stream never mentions is invisible. So for such inodes a name gained and a name
//   lost may come out as one `renamed` or as `added` plus `deleted`; the names are right either
//   way;
// - what else the stream did to an inode of the parent, in `changes`: data (write, clone,
//   truncate, hole punch, or their no-data extents), mode, owner, xattrs, flags (fileattr,
//   verity), entries (a directory gained or lost names: zfs diff's M on the parent). `times`
//   stands alone: the stream re-sent the inode's times and nothing else explains it, which is
//   what the kernel does when only an inode's times or ctime changed (touch, a hard link added
//   or removed elsewhere). A stream carries new times, never old ones, so times are not
//   compared; a renamed inode with nothing else changed has no changes.
// A record with changes for an inode whose names did not change is `modified`.
import type { ByteSource, ParseOptions } from '../stream/parser.js'
import type { Change, EntryType, Inode, Link, StreamModel } from './model.js'
import { currentLinkPath, originalLinkPath } from './model.js'
import { readModels } from './read-models.js'

export type DiffOptions = ParseOptions
export type DiffOp = 'added' | 'deleted' | 'modified' | 'renamed'

export interface DiffEntry {
  op: DiffOp
  /** Path in the new snapshot (the old one for `deleted`), as bytes; the root is '.'. */
  path: Buffer
  /** For `renamed`: the path in the parent snapshot. */
  from?: Buffer
  /** Unknown for an unlinked entry of the parent whose type the stream never shows. */
  type?: EntryType
  /** What changed (see the header of diff.ts); empty for added and deleted. */
  changes: Change[]
  /** Name of the subvolume the stream builds. */
  subvolume: string
}

const CHANGE_ORDER: Change[] = ['data', 'entries', 'mode', 'owner', 'xattrs', 'flags', 'times']

/** Directories: did the set of (name, inode) entries the stream revealed change? */
function entriesChanged(dir: Inode): boolean {
  for (const [name, inode] of dir.origChildren) if (dir.children.get(name) !== inode) return true
  for (const [name, inode] of dir.children) if (dir.origChildren.get(name) !== inode) return true
  return false
}

function changesOf(inode: Inode, keptName: boolean): Change[] {
  const set = new Set(inode.changes)
  if (entriesChanged(inode)) set.add('entries')
  if (set.size === 0 && inode.timesSent && keptName) set.add('times')
  return CHANGE_ORDER.filter((c) => set.has(c))
}

const bytes = (p: string | undefined): Buffer => Buffer.from(p === undefined || p === '' ? '.' : p, 'latin1')

function recordsOf(model: StreamModel, inode: Inode): DiffEntry[] {
  const base = { type: inode.type, subvolume: model.subvolume }
  const record = (op: DiffOp, link: Link | undefined, changes: Change[] = [], from?: Link): DiffEntry => ({
    op,
    path: bytes(link === undefined ? '' : op === 'deleted' ? originalLinkPath(link) : currentLinkPath(link)),
    ...(from ? { from: bytes(originalLinkPath(from)) } : {}),
    ...base,
    changes,
  })
  if (inode.created) return inode.links.map((l) => record('added', l))
  if (inode.isRoot()) {
    const changes = changesOf(inode, true)
    return changes.length > 0 ? [record('modified', undefined, changes)] : []
  }
  const removed = inode.origLinks.filter((l) => !inode.links.includes(l))
  const added = inode.links.filter((l) => !inode.origLinks.includes(l))
  const kept = inode.links.filter((l) => inode.origLinks.includes(l))
  if (inode.links.length === 0) return removed.map((l) => record('deleted', l))
  const changes = changesOf(inode, kept.length > 0)
  if (removed.length === 1 && added.length === 1) return [record('renamed', added[0], changes, removed[0])]
  const out = [...removed.map((l) => record('deleted', l)), ...added.map((l) => record('added', l))]
  if (changes.length > 0) out.push(record('modified', kept[0] ?? inode.links[0], changes))
  return out
}

export function diffOf(model: StreamModel): DiffEntry[] {
  const out = model.inodes.flatMap((inode) => recordsOf(model, inode))
  return out.sort((a, b) => Buffer.compare(a.path, b.path) || a.op.localeCompare(b.op))
}

/**
 * The changes each stream of `source` (a byte source or a file path) makes to its parent
 * snapshot. A full stream diffs against nothing: every entry is `added`. The whole stream is read
 * before its first record is yielded: final paths need every rename.
 */
export async function* diff(source: ByteSource | string, options: DiffOptions = {}): AsyncGenerator<DiffEntry, void, undefined> {
  for await (const model of readModels(source, options)) yield* diffOf(model)
}
