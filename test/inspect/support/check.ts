// One truth run for list/diff: a random tree in a fresh subvolume, snapshot, random mutations,
// snapshot, `btrfs send` (full, incremental, incremental --no-data), then our list() and diff()
// of those streams against the two snapshots read from disk (truth.ts).
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { diff, list } from '../../../lib/index.js'
import { createListFormatter } from '../../../lib/inspect/format.js'
import type { DiffEntry, ListEntry } from '../../../lib/index.js'
import { sh } from '../../support/btrfs.js'
import { Mutator, type Op } from './mutate.js'
import { readTree, treePath, truthDiff, truthList, type Tree, type TruthRecord } from './truth.js'

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

interface Plain {
  op: string
  path: string
  from?: string
  changes: string[]
  type?: string
}

/** Path to inode number, over every name of `tree`. */
function inodeByPath(tree: Tree): Map<string, string> {
  const out = new Map<string, string>([['.', tree.root]])
  for (const [ino, r] of Object.entries(tree.inodes)) for (const l of r.links) out.set(treePath(tree, l), ino)
  return out
}

/**
 * Both diffs in one comparable form. Records of an inode with one name are compared as they are.
 * For an inode with several names in either snapshot the stream does not say which old name
 * became which new one (the kernel links a new name from whichever name it holds first and
 * unlinks the lost ones), so there the names gained (added, renamed to), the names lost
 * (deleted, renamed from) and the union of changes are compared, `times` left out: it is
 * reported only for an inode that kept a name, and whether the one the kernel re-sent the times
 * on was kept is as unknowable as the pairing.
 */
function comparable(ours: DiffEntry[], truth: TruthRecord[], before: Tree, after: Tree): { ours: unknown[]; truth: unknown[] } {
  const oldIno = inodeByPath(before)
  const newIno = inodeByPath(after)
  const multi = (ino: string | undefined): boolean =>
    ino !== undefined && ((before.inodes[ino]?.links.length ?? 0) > 1 || (after.inodes[ino]?.links.length ?? 0) > 1)
  const fold = (records: Plain[]): unknown[] => {
    const single: Plain[] = []
    const groups = new Map<string, { gained: Set<string>; lost: Set<string>; changes: Set<string> }>()
    for (const r of records) {
      const ino = r.op === 'deleted' ? oldIno.get(r.path) : newIno.get(r.path)
      if (!multi(ino)) {
        single.push(r)
        continue
      }
      const g = groups.get(ino as string) ?? { gained: new Set(), lost: new Set(), changes: new Set() }
      groups.set(ino as string, g)
      if (r.op === 'added' || r.op === 'renamed') g.gained.add(r.path)
      if (r.op === 'deleted') g.lost.add(r.path)
      if (r.from !== undefined) g.lost.add(r.from)
      for (const c of r.changes) if (c !== 'times') g.changes.add(c)
    }
    const order = (x: Plain, y: Plain): number => (x.path < y.path ? -1 : x.path > y.path ? 1 : x.op < y.op ? -1 : x.op > y.op ? 1 : 0)
    const summaries = [...groups.entries()]
      .filter(([, g]) => g.gained.size + g.lost.size + g.changes.size > 0)
      .map(([ino, g]) => ({ ino, gained: [...g.gained].sort(), lost: [...g.lost].sort(), changes: [...g.changes].sort() }))
      .sort((x, y) => (x.ino < y.ino ? -1 : 1))
    return [...single.sort(order), ...summaries]
  }
  const mine: Plain[] = ours.map((e) => ({
    op: e.op,
    path: e.path.toString('latin1'),
    ...(e.from ? { from: e.from.toString('latin1') } : {}),
    changes: e.changes,
    type: e.type,
  }))
  const theirs: Plain[] = truth.map((t) => ({
    op: t.op,
    path: t.paths[0],
    ...(t.from !== undefined ? { from: t.from } : {}),
    changes: t.changes,
    type: t.type,
  }))
  // Our type is unknown for some entries of the parent (an unlinked file): then it is not compared.
  const typeOf = new Map(theirs.map((t) => [`${t.op} ${t.path}`, t.type]))
  for (const e of mine) e.type ??= typeOf.get(`${e.op} ${e.path}`)
  return { ours: fold(mine), truth: fold(theirs) }
}

function listComparable(entries: ListEntry[]): object[] {
  return entries.map((e) => ({
    path: e.path.toString('latin1'),
    type: e.type,
    mode: e.type === 'symlink' ? null : e.mode,
    uid: e.uid,
    gid: e.gid,
    size: e.type === 'file' || e.type === 'symlink' ? e.size : null,
    mtime: e.mtime === undefined ? undefined : String(e.mtime.sec * 1_000_000_000n + BigInt(e.mtime.nsec)),
    target: e.target ? e.target.toString('latin1') : null,
  }))
}

/**
 * `ls -l` lines against `tar -tv --numeric-owner` of the snapshot itself, in path order. Which
 * name of a hard-linked inode is "first" is tar's walk order, so for those names the type,
 * size and "link to" part are left out of the comparison.
 */
function hardLinked(tree: Tree): Set<string> {
  const names = new Set<string>()
  for (const r of Object.values(tree.inodes)) if (r.links.length > 1) for (const l of r.links) names.add(treePath(tree, l))
  return names
}

function normalizeLong(line: string, linked: Set<string>): string {
  const m = /^(\S)(\S{9}) +(\S+) +(\S+) (\S+ \S+) (.*)$/.exec(line)
  if (!m) return `unparsed: ${line}`
  let [, type, perms, owner, size, when, rest] = m
  rest = rest.replace(/^\.\//, '')
  const name = rest.replace(/ link to .*$/, '').replace(/ -> .*$/, '').replace(/\/$/, '')
  if (linked.has(name)) return `${perms} ${owner} ${when} ${name}`
  return `${type}${perms} ${owner} ${size} ${when} ${rest.replace(/\/$/, '')}`
}

function longListing(entries: ListEntry[], tree: Tree): string[] {
  const format = createListFormatter(true, 'UTC')
  const linked = hardLinked(tree)
  return entries.map((e) => normalizeLong(format(e), linked)).sort()
}

function tarListing(snapshot: string, dir: string, tree: Tree): string[] {
  const archive = path.join(dir, 'tree.tar')
  sh('tar', ['-C', snapshot, '--numeric-owner', '-cf', archive, '.'])
  const linked = hardLinked(tree)
  const lines = execFileSync('tar', ['-tvf', archive], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } }).split('\n')
  return lines.filter((l) => l !== '' && !/ \.\/$/.test(l)).map((l) => normalizeLong(l, linked)).sort()
}

let runs = 0

/** Runs one case on the btrfs mounted at `mnt`; throws (a jest expectation) on any difference. */
export async function checkCase(mnt: string, build: Op[], change: Op[]): Promise<void> {
  const dir = path.join(mnt, `case${++runs}`)
  fs.mkdirSync(dir)
  const src = path.join(dir, 'src')
  const [s0, s1] = [path.join(dir, 's0'), path.join(dir, 's1')]
  try {
    sh('btrfs', ['subvolume', 'create', src])
    const m = new Mutator(src)
    m.apply(build)
    m.sentinel()
    sh('btrfs', ['subvolume', 'snapshot', '-r', src, s0])
    m.apply(change)
    sh('btrfs', ['subvolume', 'snapshot', '-r', src, s1])
    const streams = {
      full: path.join(dir, 'full.bin'),
      inc: path.join(dir, 'inc.bin'),
      noData: path.join(dir, 'nodata.bin'),
    }
    sh('btrfs', ['send', '-q', '-f', streams.full, s1])
    sh('btrfs', ['send', '-q', '-p', s0, '-f', streams.inc, s1])
    sh('btrfs', ['send', '-q', '--no-data', '-p', s0, '-f', streams.noData, s1])
    const before = readTree(s0)
    const after = readTree(s1)

    const listed = await collect(list(streams.full))
    expect(listComparable(listed)).toEqual(truthList(after))
    expect(longListing(listed, after)).toEqual(tarListing(s1, dir, after))
    const truth = truthDiff(before, after)
    for (const stream of [streams.inc, streams.noData]) {
      const c = comparable(await collect(diff(stream)), truth, before, after)
      expect(c.ours).toEqual(c.truth)
      // list() of an incremental stream: the entries it creates or changes: a name of every
      // record that is still there, and no name of an inode without a record (an inode with a
      // record may show any of its names: a new link changes the inode behind all of them).
      const listedPaths = new Set((await collect(list(stream))).map((e) => e.path.toString('latin1')))
      const present = truth.filter((t) => t.op !== 'deleted' && t.paths[0] !== '.')
      const newIno = inodeByPath(after)
      const namesOf = (t: TruthRecord): string[] => after.inodes[newIno.get(t.paths[0]) as string].links.map((l) => treePath(after, l))
      expect(present.filter((t) => !namesOf(t).some((p) => listedPaths.has(p)))).toEqual([])
      const allowed = new Set(present.flatMap(namesOf))
      expect([...listedPaths].filter((p) => !allowed.has(p))).toEqual([])
    }
  } finally {
    for (const s of [s1, s0, src]) if (fs.existsSync(s)) sh('btrfs', ['subvolume', 'delete', s])
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
