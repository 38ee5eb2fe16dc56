// The truth list() and diff() are checked against: two snapshots read from disk (lstat,
// readdir, readlink, content hashes, getfattr) and compared by inode number, with the rules diff.ts documents, written independently of the
// stream model: per inode, links as (parent inode, name); `renamed` when exactly one link was
// swapped for another; `added`/`deleted` per link gained or lost otherwise; changes from the
// stat, content hash, xattrs and directory entries of both sides.
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { sh } from '../../support/btrfs.js'

export interface TreeInode {
  type: string
  mode: number
  uid: number
  gid: number
  size: number
  atime: string
  mtime: string
  ctime: string
  xattrs: Record<string, string>
  links: [string, string][]
  entries: Record<string, string>
  sha?: string
  target?: string
}
export interface Tree {
  root: string
  inodes: Record<string, TreeInode>
}

function typeOf(st: fs.BigIntStats): string {
  if (st.isFile()) return 'file'
  if (st.isDirectory()) return 'dir'
  if (st.isSymbolicLink()) return 'symlink'
  if (st.isFIFO()) return 'fifo'
  if (st.isSocket()) return 'socket'
  return st.isCharacterDevice() ? 'char' : 'block'
}

/** Every xattr under `dir` (symlinks not followed), by path, from one getfattr run. */
function allXattrs(dir: string): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>()
  let current: Record<string, string> | undefined
  for (const line of sh('getfattr', ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', dir]).split('\n')) {
    if (line.startsWith('# file: ')) out.set(line.slice(8), (current = {}))
    else if (current && line.includes('=')) current[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1)
  }
  return out
}

/** One snapshot's tree by inode number (names are the ASCII ones the mutator makes). */
export function readTree(dir: string): Tree {
  const xattrs = allXattrs(dir)
  const inodes: Record<string, TreeInode> = {}
  const record = (p: string, st: fs.BigIntStats): TreeInode => {
    const type = typeOf(st)
    const r: TreeInode = {
      type,
      mode: Number(st.mode & 0o7777n),
      uid: Number(st.uid),
      gid: Number(st.gid),
      size: Number(st.size),
      atime: String(st.atimeNs),
      mtime: String(st.mtimeNs),
      ctime: String(st.ctimeNs),
      xattrs: xattrs.get(p) ?? {},
      links: [],
      entries: {},
    }
    if (type === 'file') r.sha = createHash('sha256').update(fs.readFileSync(p)).digest('hex')
    if (type === 'symlink') r.target = fs.readlinkSync(p, 'latin1')
    return r
  }
  const rootSt = fs.lstatSync(dir, { bigint: true })
  const root = String(rootSt.ino)
  inodes[root] = record(dir, rootSt)
  const visit = (d: string, dino: string): void => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name)
      const st = fs.lstatSync(p, { bigint: true })
      const ino = String(st.ino)
      inodes[ino] ??= record(p, st)
      inodes[ino].links.push([dino, name])
      inodes[dino].entries[name] = ino
      if (st.isDirectory()) visit(p, ino)
    }
  }
  visit(dir, root)
  return { root, inodes }
}

/** A diff record in comparable form: paths as latin1 strings; `paths` = acceptable paths. */
export interface TruthRecord {
  op: string
  paths: string[]
  from?: string
  type: string
  changes: string[]
}

function pathOf(tree: Tree, ino: string): string {
  if (ino === tree.root) return '.'
  const [parent, name] = tree.inodes[ino].links[0]
  return parent === tree.root ? name : `${pathOf(tree, parent)}/${name}`
}
/** The path of one link (parent inode, name) of `tree`. */
export const treePath = (tree: Tree, [parent, name]: [string, string]): string => (parent === tree.root ? name : `${pathOf(tree, parent)}/${name}`)
const linkPath = treePath
const key = ([parent, name]: [string, string]): string => `${parent}\0${name}`
const same = (a: object, b: object): boolean => JSON.stringify(a) === JSON.stringify(b)

const ORDER = ['data', 'entries', 'mode', 'owner', 'xattrs', 'flags', 'times']

function changes(a: TreeInode, b: TreeInode, keptName: boolean): string[] {
  const set = new Set<string>()
  if (a.type === 'file' && a.sha !== b.sha) set.add('data')
  if (a.type === 'dir' && !same(a.entries, b.entries)) set.add('entries')
  if (a.type !== 'symlink' && a.mode !== b.mode) set.add('mode')
  if (a.uid !== b.uid || a.gid !== b.gid) set.add('owner')
  if (!same(a.xattrs, b.xattrs)) set.add('xattrs')
  if (set.size === 0 && keptName && (a.atime !== b.atime || a.mtime !== b.mtime || a.ctime !== b.ctime)) set.add('times')
  return ORDER.filter((c) => set.has(c))
}

export function truthDiff(before: Tree, after: Tree): TruthRecord[] {
  const out: TruthRecord[] = []
  const inos = new Set([...Object.keys(before.inodes), ...Object.keys(after.inodes)])
  for (const ino of inos) {
    const a = before.inodes[ino]
    const b = after.inodes[ino]
    if (!a) {
      for (const l of b.links) out.push({ op: 'added', paths: [linkPath(after, l)], type: b.type, changes: [] })
      continue
    }
    if (!b) {
      for (const l of a.links) out.push({ op: 'deleted', paths: [linkPath(before, l)], type: a.type, changes: [] })
      continue
    }
    if (ino === after.root) {
      const c = changes(a, b, true)
      if (c.length > 0) out.push({ op: 'modified', paths: ['.'], type: 'dir', changes: c })
      continue
    }
    const oldKeys = new Set(a.links.map(key))
    const newKeys = new Set(b.links.map(key))
    const removed = a.links.filter((l) => !newKeys.has(key(l)))
    const added = b.links.filter((l) => !oldKeys.has(key(l)))
    const kept = b.links.filter((l) => oldKeys.has(key(l)))
    const c = changes(a, b, kept.length > 0)
    if (removed.length === 1 && added.length === 1) {
      out.push({ op: 'renamed', paths: [linkPath(after, added[0])], from: linkPath(before, removed[0]), type: b.type, changes: c })
      continue
    }
    for (const l of removed) out.push({ op: 'deleted', paths: [linkPath(before, l)], type: a.type, changes: [] })
    for (const l of added) out.push({ op: 'added', paths: [linkPath(after, l)], type: b.type, changes: [] })
    // Which name the stream uses for an inode with several is the kernel's choice: any kept one.
    if (c.length > 0) out.push({ op: 'modified', paths: (kept.length > 0 ? kept : b.links).map((l) => linkPath(after, l)), type: b.type, changes: c })
  }
  return out
}

/** What list() of a full stream of `tree` must show, one record per name. */
export interface TruthEntry {
  path: string
  type: string
  mode: number | null
  uid: number
  gid: number
  size: number | null
  mtime: string
  target: string | null
}

export function truthList(tree: Tree): TruthEntry[] {
  const out: TruthEntry[] = []
  for (const [ino, r] of Object.entries(tree.inodes)) {
    if (ino === tree.root) continue
    for (const l of r.links) {
      out.push({
        path: linkPath(tree, l),
        type: r.type,
        // A symlink's mode is not sent (always 0777); directory sizes are not file sizes.
        mode: r.type === 'symlink' ? null : r.mode,
        uid: r.uid,
        gid: r.gid,
        size: r.type === 'file' || r.type === 'symlink' ? r.size : null,
        mtime: r.mtime,
        target: r.target ?? null,
      })
    }
  }
  return out.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0))
}
