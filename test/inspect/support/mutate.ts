// Random trees and random mutations of them for the list/diff truth tests: fast-check picks a
// list of operations; each one picks its targets by index among what exists at that moment, so
// every generated list applies. Writes carry a fresh counter, so a write always changes content
// (the kernel sends rewritten extents even when their bytes are equal; "data" means content here).
import fs from 'node:fs'
import path from 'node:path'
import fc from 'fast-check'
import { sh } from '../../support/btrfs.js'

export const OP_KINDS = [
  'create', 'mkdir', 'symlink', 'delete', 'write', 'truncate', 'rename', 'link', 'chmod', 'chown', 'setxattr', 'rmxattr', 'touch',
] as const
export interface Op {
  kind: (typeof OP_KINDS)[number]
  a: number
  b: number
  c: number
}

/** Any operation, uniformly: the mutations between the two snapshots. */
export const opArb: fc.Arbitrary<Op> = fc.record({ kind: fc.constantFrom(...OP_KINDS), a: fc.nat(), b: fc.nat(), c: fc.nat() })

/** Mostly creations, so the parent tree is deep and wide enough for moves to matter. */
export const buildOpArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom<Op['kind']>('create', 'create', 'mkdir', 'mkdir', 'mkdir', 'symlink', 'link', 'setxattr', 'chmod', 'write'),
  a: fc.nat(),
  b: fc.nat(),
  c: fc.nat(),
})

/** Kept out of every mutation: its inode number stays the highest of the parent snapshot, so a
 * new inode never reuses a deleted one's number (btrfs hands out highest + 1). */
export const SENTINEL = 'zz-sentinel'

interface Found {
  p: string
  st: fs.Stats
}

function walk(root: string): Found[] {
  const out: Found[] = []
  const visit = (dir: string): void => {
    for (const name of fs.readdirSync(dir).sort()) {
      if (dir === root && name === SENTINEL) continue
      const p = path.join(dir, name)
      const st = fs.lstatSync(p)
      out.push({ p, st })
      if (st.isDirectory()) visit(p)
    }
  }
  visit(root)
  return out
}

const pick = <T>(xs: T[], i: number): T | undefined => (xs.length === 0 ? undefined : xs[i % xs.length])

export class Mutator {
  private n = 0
  constructor(private readonly root: string) {}

  apply(ops: Op[]): void {
    for (const op of ops) this.one(op)
  }

  private one({ kind, a, b, c }: Op): void {
    const all = walk(this.root)
    const dirs = [this.root, ...all.filter((f) => f.st.isDirectory()).map((f) => f.p)]
    const files = all.filter((f) => f.st.isFile())
    const notLinks = all.filter((f) => !f.st.isSymbolicLink())
    const n = ++this.n
    const dir = pick(dirs, a) as string
    switch (kind) {
      case 'create':
        fs.writeFileSync(path.join(dir, `f${n}`), `content ${n} `.repeat(1 + (c % 400)))
        return
      case 'mkdir':
        fs.mkdirSync(path.join(dir, `d${n}`))
        return
      case 'symlink':
        fs.symlinkSync(`target-${c % 7}`, path.join(dir, `l${n}`))
        return
      case 'delete': {
        const f = pick(all, a)
        if (f) fs.rmSync(f.p, { recursive: true })
        return
      }
      case 'write': {
        const f = pick(files, a)
        if (!f) return
        const fd = fs.openSync(f.p, 'r+')
        fs.writeSync(fd, Buffer.from(`W${n}.`), 0, undefined, c % (f.st.size + 9000))
        fs.closeSync(fd)
        return
      }
      case 'truncate': {
        const f = pick(files, a)
        if (!f) return
        const size = f.st.size > 0 && c % 2 === 0 ? c % f.st.size : f.st.size + 1 + (c % 5000)
        fs.truncateSync(f.p, size)
        return
      }
      case 'rename': {
        const f = pick(all, a)
        const to = pick(dirs, b) as string
        if (!f || to === f.p || to.startsWith(f.p + '/')) return
        fs.renameSync(f.p, path.join(to, `r${n}`))
        return
      }
      case 'link': {
        const f = pick(files, a)
        if (f) fs.linkSync(f.p, path.join(pick(dirs, b) as string, `h${n}`))
        return
      }
      case 'chmod': {
        const f = pick(notLinks, a)
        if (f) fs.chmodSync(f.p, (f.st.mode & 0o777) ^ (1 + (c % 0o777)))
        return
      }
      case 'chown': {
        const f = pick(all, a)
        if (f) fs.lchownSync(f.p, f.st.uid + 1 + (c % 3), f.st.gid + (c % 2))
        return
      }
      case 'setxattr': {
        const f = pick(notLinks, a)
        if (f) sh('setfattr', ['-n', `user.x${c % 3}`, '-v', `v${n}`, f.p])
        return
      }
      case 'rmxattr': {
        const f = pick(notLinks, a)
        if (!f) return
        try {
          sh('setfattr', ['-x', `user.x${c % 3}`, f.p])
        } catch {
          // Not set: nothing to remove.
        }
        return
      }
      case 'touch': {
        const f = pick(notLinks, a)
        if (f) fs.utimesSync(f.p, 1_000_000_000 + n, 1_000_000_000 + n * 7)
        return
      }
    }
  }

  /** The sentinel, made last in the parent tree. */
  sentinel(): void {
    fs.writeFileSync(path.join(this.root, SENTINEL), 'keep')
  }
}
