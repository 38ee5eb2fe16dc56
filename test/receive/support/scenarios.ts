// The scenario corpus, modelled on fstests' btrfs send tests: each scenario builds a tree in a
// fresh subvolume and then applies one or more rounds of changes; a read-only snapshot is taken
// before the first round and after each, so every scenario yields a full stream and one or
// more incrementals. Content is pseudo-random per scenario (seeded), so nothing dedups by chance.
import { createHash } from 'node:crypto'
import {
  appendFileSync, chmodSync, chownSync, linkSync, lchownSync, mkdirSync, renameSync, rmSync, symlinkSync,
  truncateSync, unlinkSync, writeFileSync,
} from 'node:fs'
import path from 'node:path'
import { execFileSync } from 'node:child_process'
import { sh } from '../../support/btrfs.js'

const FSUTIL = path.join(__dirname, 'fsutil.py')

export interface Scenario {
  name: string
  build(src: string): void
  /** One round per incremental snapshot. */
  changes: Array<(src: string) => void>
}

/** Deterministic pseudo-random bytes. */
export function bytes(seed: string, n: number): Buffer {
  const out = Buffer.alloc(n)
  let block = createHash('sha256').update(seed).digest()
  for (let i = 0; i < n; i += 32) {
    block.copy(out, i, 0, Math.min(32, n - i))
    block = createHash('sha256').update(block).digest()
  }
  return out
}

function fsutil(...args: string[]): void {
  execFileSync('python3', [FSUTIL, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
}

const j = path.join
const w = (file: string, data: string | Buffer) => writeFileSync(file, data)
const md = (dir: string) => mkdirSync(dir, { recursive: true })

export const SCENARIOS: Scenario[] = [
  {
    name: 'basic files and directories',
    build: (s) => {
      md(j(s, 'a/b/c'))
      w(j(s, 'small'), 'x')
      w(j(s, 'a/medium'), bytes('m', 70_000))
      w(j(s, 'a/b/c/empty'), '')
      w(j(s, 'big'), bytes('big', 400_000))
    },
    changes: [(s) => {
      appendFileSync(j(s, 'a/medium'), bytes('m2', 5000))
      w(j(s, 'a/b/new'), 'new')
      unlinkSync(j(s, 'small'))
    }],
  },
  {
    name: 'rename swap of two files',
    build: (s) => {
      w(j(s, 'a'), bytes('a', 5000))
      w(j(s, 'b'), bytes('b', 7000))
    },
    changes: [(s) => {
      renameSync(j(s, 'a'), j(s, 'tmp'))
      renameSync(j(s, 'b'), j(s, 'a'))
      renameSync(j(s, 'tmp'), j(s, 'b'))
    }],
  },
  {
    name: 'rename cycle of three directories',
    build: (s) => {
      for (const d of ['x', 'y', 'z']) {
        md(j(s, d))
        w(j(s, d, 'f'), d)
      }
    },
    changes: [(s) => {
      renameSync(j(s, 'x'), j(s, 't'))
      renameSync(j(s, 'z'), j(s, 'x'))
      renameSync(j(s, 'y'), j(s, 'z'))
      renameSync(j(s, 't'), j(s, 'y'))
    }],
  },
  {
    name: 'directory moved under its former child',
    build: (s) => {
      md(j(s, 'A/B/C'))
      w(j(s, 'A/B/C/f'), 'deep')
      w(j(s, 'A/fa'), 'a')
    },
    changes: [(s) => {
      renameSync(j(s, 'A/B'), j(s, 'B'))
      renameSync(j(s, 'A'), j(s, 'B/A'))
      renameSync(j(s, 'B/C'), j(s, 'B/A/C'))
    }],
  },
  {
    name: 'orphan directories (tree removed and rebuilt under the same names)',
    build: (s) => {
      md(j(s, 'd1/d2/d3'))
      w(j(s, 'd1/d2/d3/f'), 'old')
      md(j(s, 'keep'))
    },
    changes: [(s) => {
      rmSync(j(s, 'd1'), { recursive: true })
      md(j(s, 'd1/d2'))
      w(j(s, 'd1/d2/f'), 'new')
      renameSync(j(s, 'keep'), j(s, 'd1/keep'))
    }],
  },
  {
    name: 'file replaced by a directory and back',
    build: (s) => {
      w(j(s, 'f'), 'file')
      md(j(s, 'd'))
      w(j(s, 'd/inner'), 'inner')
    },
    changes: [
      (s) => {
        unlinkSync(j(s, 'f'))
        md(j(s, 'f'))
        w(j(s, 'f/x'), 'x')
        rmSync(j(s, 'd'), { recursive: true })
        w(j(s, 'd'), 'now a file')
      },
      (s) => {
        rmSync(j(s, 'f'), { recursive: true })
        w(j(s, 'f'), 'file again')
      },
    ],
  },
  {
    name: 'many hard links',
    build: (s) => {
      md(j(s, 'l1'))
      md(j(s, 'l2'))
      w(j(s, 'orig'), bytes('orig', 3000))
      for (let i = 0; i < 150; i++) linkSync(j(s, 'orig'), j(s, i % 2 ? 'l1' : 'l2', `link${i}`))
    },
    changes: [(s) => {
      for (let i = 0; i < 150; i += 3) unlinkSync(j(s, i % 2 ? 'l1' : 'l2', `link${i}`))
      unlinkSync(j(s, 'orig'))
      for (let i = 0; i < 40; i++) linkSync(j(s, 'l1/link1'), j(s, `new${i}`))
      appendFileSync(j(s, 'l1/link1'), 'more')
    }],
  },
  {
    name: 'clones within a file and across files',
    build: (s) => {
      w(j(s, 'src'), bytes('clone-src', 256 * 1024))
      fsutil('clone', j(s, 'src'), '0', String(64 * 1024), j(s, 'src'), String(128 * 1024))
      fsutil('clone', j(s, 'src'), '0', String(256 * 1024), j(s, 'copy'), '0')
      fsutil('clone', j(s, 'src'), String(64 * 1024), String(64 * 1024), j(s, 'partial'), String(192 * 1024))
    },
    changes: [(s) => {
      fsutil('clone', j(s, 'src'), '0', String(128 * 1024), j(s, 'copy2'), '0')
      fsutil('clone', j(s, 'copy'), String(128 * 1024), String(64 * 1024), j(s, 'src'), '0')
    }],
  },
  {
    name: 'holes and preallocation',
    build: (s) => {
      w(j(s, 'sparse'), '')
      fsutil('write', j(s, 'sparse'), String(1024 * 1024), bytes('h', 4096).toString('hex'))
      fsutil('write', j(s, 'sparse'), '0', bytes('h0', 4096).toString('hex'))
      sh('fallocate', ['-l', '256K', j(s, 'prealloc')])
      sh('fallocate', ['-n', '-o', '0', '-l', '128K', j(s, 'sparse')])
      truncateSync(j(s, 'sparse'), 3 * 1024 * 1024)
    },
    changes: [(s) => {
      w(j(s, 'punched'), bytes('p', 256 * 1024))
      sh('fallocate', ['-p', '-o', '64K', '-l', '64K', j(s, 'punched')])
      fsutil('write', j(s, 'prealloc'), '8192', bytes('pre', 4096).toString('hex'))
    }],
  },
  {
    name: 'truncation up and down',
    build: (s) => {
      w(j(s, 'shrink'), bytes('s', 200_000))
      w(j(s, 'grow'), bytes('g', 5000))
      w(j(s, 'zero'), bytes('z', 9000))
    },
    changes: [(s) => {
      truncateSync(j(s, 'shrink'), 12345)
      truncateSync(j(s, 'grow'), 1_000_000)
      truncateSync(j(s, 'zero'), 0)
    }],
  },
  {
    name: 'large xattrs and xattr changes',
    build: (s) => {
      w(j(s, 'f'), 'x')
      md(j(s, 'd'))
      fsutil('setxattr', j(s, 'f'), 'user.big', bytes('xa', 12_000).toString('hex'), ';',
        'setxattr', j(s, 'f'), 'user.small', '00ff10', ';', 'setxattr', j(s, 'd'), 'user.dir', '6869', ';',
        'setxattr', s, 'user.root', '726f6f74')
    },
    changes: [(s) => {
      fsutil('setxattr', j(s, 'f'), 'user.big', bytes('xb', 8_000).toString('hex'))
      sh('setfattr', ['-x', 'user.small', j(s, 'f')])
    }],
  },
  {
    name: 'security.capability survives chown (stream order)',
    build: (s) => {
      w(j(s, 'ping'), bytes('cap', 1000))
      chmodSync(j(s, 'ping'), 0o755)
      sh('setcap', ['cap_net_raw=ep', j(s, 'ping')])
    },
    changes: [(s) => {
      chownSync(j(s, 'ping'), 1000, 1000)
      sh('setcap', ['cap_net_admin,cap_net_raw=ep', j(s, 'ping')])
      w(j(s, 'other'), 'no caps')
    }],
  },
  {
    name: 'POSIX ACLs (access and default)',
    build: (s) => {
      md(j(s, 'shared'))
      w(j(s, 'shared/f'), 'acl')
      fsutil('acl', j(s, 'shared/f'), 'access', '1000', ';', 'acl', j(s, 'shared'), 'default', '1001', ';',
        'acl', j(s, 'shared'), 'access', '1002')
    },
    changes: [(s) => {
      fsutil('acl', j(s, 'shared/f'), 'access', '2000')
    }],
  },
  {
    name: 'special files: devices, fifos, sockets',
    build: (s) => {
      sh('mknod', [j(s, 'null'), 'c', '1', '3'])
      sh('mknod', [j(s, 'blk'), 'b', '7', '200'])
      sh('mknod', [j(s, 'bigdev'), 'c', '300', '70000'])
      sh('mkfifo', [j(s, 'fifo')])
      fsutil('sock', j(s, 'sock'))
      chmodSync(j(s, 'fifo'), 0o640)
    },
    changes: [(s) => {
      unlinkSync(j(s, 'null'))
      sh('mknod', [j(s, 'null'), 'c', '1', '5'])
      renameSync(j(s, 'fifo'), j(s, 'fifo2'))
    }],
  },
  {
    name: 'setuid, setgid and sticky bits',
    build: (s) => {
      w(j(s, 'suid'), 'x')
      chmodSync(j(s, 'suid'), 0o4755)
      w(j(s, 'sgid'), 'y')
      chmodSync(j(s, 'sgid'), 0o2711)
      md(j(s, 'tmp'))
      chmodSync(j(s, 'tmp'), 0o1777)
      md(j(s, 'setgid-dir'))
      chmodSync(j(s, 'setgid-dir'), 0o2775)
    },
    changes: [(s) => {
      chownSync(j(s, 'suid'), 0, 100)
      chmodSync(j(s, 'suid'), 0o4750)
      chmodSync(j(s, 'tmp'), 0o1700)
    }],
  },
  {
    name: 'large uids and gids',
    build: (s) => {
      w(j(s, 'f'), 'x')
      chownSync(j(s, 'f'), 4_000_000_000, 4_000_000_001)
      md(j(s, 'd'))
      chownSync(j(s, 'd'), 65534, 65534)
      symlinkSync('target', j(s, 'l'))
      lchownSync(j(s, 'l'), 123456, 654321)
    },
    changes: [(s) => {
      chownSync(j(s, 'f'), 2_147_483_648, 1)
    }],
  },
  {
    name: 'nanosecond and pre-1970 timestamps',
    build: (s) => {
      w(j(s, 'old'), 'x')
      w(j(s, 'ns'), 'y')
      symlinkSync('old', j(s, 'link'))
      md(j(s, 'dir'))
      fsutil('utime', j(s, 'old'), '-315619199876543211', '-1000000001', ';', 'utime', j(s, 'ns'), '1700000000123456789', '1700000001987654321',
        ';', 'utime', j(s, 'link'), '1000000000000000001', '999999999999999999', ';', 'utime', j(s, 'dir'), '5', '7')
    },
    changes: [(s) => {
      fsutil('utime', j(s, 'ns'), '1', '2', ';', 'utime', j(s, 'old'), '-1', '-999999999')
    }],
  },
  {
    name: 'deep tree',
    build: (s) => {
      let d = s
      for (let i = 0; i < 120; i++) d = j(d, `level${i}`)
      md(d)
      w(j(d, 'leaf'), 'deep')
    },
    changes: [(s) => {
      renameSync(j(s, 'level0/level1'), j(s, 'moved'))
      w(j(s, 'moved', 'level2', 'new'), 'x')
    }],
  },
  {
    name: '255-byte and non-UTF-8 names',
    build: (s) => {
      w(j(s, 'n'.repeat(255)), 'long')
      const weird = Buffer.concat([Buffer.from(s + '/'), Buffer.from([0xff, 0xfe, 0x41, 0x0a, 0x20, 0x5c])])
      writeFileSync(weird, 'non utf8')
      mkdirSync(Buffer.concat([Buffer.from(s + '/'), Buffer.from('dir \u00e9\u6f22'), Buffer.from([0x80])]))
      w(j(s, 'with space and \t tab'), 'ws')
    },
    changes: [(s) => {
      renameSync(j(s, 'n'.repeat(255)), j(s, 'm'.repeat(255)))
      const weird = Buffer.concat([Buffer.from(s + '/'), Buffer.from([0xff, 0xfe, 0x41, 0x0a, 0x20, 0x5c])])
      renameSync(weird, Buffer.concat([Buffer.from(s + '/'), Buffer.from([0xc3, 0x28])]))
    }],
  },
  {
    name: 'thousands of files',
    build: (s) => {
      for (let d = 0; d < 20; d++) {
        md(j(s, `d${d}`))
        for (let f = 0; f < 100; f++) w(j(s, `d${d}`, `f${f}`), `${d}/${f}\n`)
      }
    },
    changes: [(s) => {
      for (let d = 0; d < 20; d += 2) for (let f = 0; f < 100; f += 5) unlinkSync(j(s, `d${d}`, `f${f}`))
      for (let d = 1; d < 20; d += 2) renameSync(j(s, `d${d}`), j(s, `renamed${d}`))
      for (let f = 0; f < 300; f++) w(j(s, 'd0', `new${f}`), `n${f}`)
    }],
  },
  {
    name: 'chain of three incrementals',
    build: (s) => {
      md(j(s, 'x'))
      w(j(s, 'x/f'), bytes('c0', 20_000))
    },
    changes: [
      (s) => {
        w(j(s, 'x/g'), bytes('c1', 10_000))
        renameSync(j(s, 'x/f'), j(s, 'f'))
      },
      (s) => {
        appendFileSync(j(s, 'f'), bytes('c2', 10_000))
        rmSync(j(s, 'x'), { recursive: true })
        symlinkSync('f', j(s, 'x'))
      },
      (s) => {
        unlinkSync(j(s, 'x'))
        md(j(s, 'x/y'))
        linkSync(j(s, 'f'), j(s, 'x/y/f'))
      },
    ],
  },
  {
    name: 'symlinks: absolute, dangling, dot-dot targets; replaced by a file',
    build: (s) => {
      symlinkSync('/etc/passwd', j(s, 'abs'))
      symlinkSync('../../../outside', j(s, 'up'))
      symlinkSync('nowhere', j(s, 'dangling'))
      md(j(s, 'd'))
      symlinkSync('..', j(s, 'd/parent'))
    },
    changes: [(s) => {
      unlinkSync(j(s, 'abs'))
      w(j(s, 'abs'), 'now a file')
      unlinkSync(j(s, 'dangling'))
      symlinkSync('x'.repeat(1000), j(s, 'dangling'))
    }],
  },
  {
    name: 'xattrs on symlinks and directories',
    build: (s) => {
      symlinkSync('t', j(s, 'l'))
      md(j(s, 'd'))
      fsutil('setxattr', j(s, 'l'), 'trusted.onlink', '6c696e6b', ';', 'setxattr', j(s, 'l'), 'security.test', '0102', ';',
        'setxattr', j(s, 'd'), 'trusted.ondir', '64')
    },
    changes: [(s) => {
      fsutil('setxattr', j(s, 'l'), 'trusted.onlink', '6c696e6b32')
    }],
  },
  {
    name: 'modes and times only',
    build: (s) => {
      w(j(s, 'f'), 'same')
      md(j(s, 'd'))
    },
    changes: [(s) => {
      chmodSync(j(s, 'f'), 0o600)
      chmodSync(j(s, 'd'), 0o711)
      fsutil('utime', j(s, 'f'), '1600000000000000000', '1600000000000000000')
    }],
  },
  {
    name: 'compressible and partially overwritten data',
    build: (s) => {
      w(j(s, 'text'), 'btrfs-stream compressible text '.repeat(40_000))
      w(j(s, 'mixed'), Buffer.concat([bytes('mix', 300_000), Buffer.alloc(300_000, 0x61)]))
      w(j(s, 'inline'), 'tiny compressible '.repeat(100))
    },
    changes: [(s) => {
      fsutil('write', j(s, 'text'), '100000', Buffer.from('overwritten '.repeat(500)).toString('hex'))
      appendFileSync(j(s, 'mixed'), Buffer.alloc(100_000, 0x62))
    }],
  },
  {
    name: 'rename into a new directory and delete the old parent',
    build: (s) => {
      md(j(s, 'old/sub'))
      for (let i = 0; i < 20; i++) w(j(s, 'old/sub', `f${i}`), `f${i}`)
    },
    changes: [(s) => {
      md(j(s, 'new'))
      renameSync(j(s, 'old/sub'), j(s, 'new/sub'))
      rmSync(j(s, 'old'), { recursive: true })
      renameSync(j(s, 'new'), j(s, 'old'))
    }],
  },
  {
    name: 'empty subvolume then content',
    build: () => undefined,
    changes: [(s) => {
      w(j(s, 'first'), 'first')
      chmodSync(s, 0o700)
    }],
  },
]
