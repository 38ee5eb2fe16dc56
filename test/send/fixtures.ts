// Builds the snapshots the send tests compare on: a source subvolume with varied content and
// three read-only snapshots of it with changes in between (appends, renames, deletes, reflinks,
// hard links, xattrs, a hole), plus helpers that run `btrfs send` (the oracle) and drain ours.
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, appendFileSync, renameSync, linkSync, unlinkSync } from 'node:fs'
import path from 'node:path'
import type { Readable } from 'node:stream'
import { sh } from '../support/btrfs.js'

export interface Snapshots {
  src: string
  snap1: string
  snap2: string
  snap3: string
}

/** Deterministic-enough content: random data, so that nothing dedups by accident. */
export function makeSnapshots(mnt: string, prefix = ''): Snapshots {
  const src = path.join(mnt, `${prefix}src`)
  sh('btrfs', ['subvolume', 'create', src])
  mkdirSync(path.join(src, 'dir/sub'), { recursive: true })
  writeFileSync(path.join(src, 'big.bin'), randomBytes(3 * 1024 * 1024 + 123))
  writeFileSync(path.join(src, 'compressible.txt'), 'btrfs-stream '.repeat(200_000))
  for (let i = 0; i < 50; i++) writeFileSync(path.join(src, 'dir', `f${i}`), `file ${i}\n`.repeat(i + 1))
  writeFileSync(path.join(src, 'dir/sub/with space'), 'x')
  symlinkSync('../big.bin', path.join(src, 'dir/link'))
  sh('setfattr', ['-n', 'user.k', '-v', 'value', path.join(src, 'dir/f1')])
  sh('mkfifo', [path.join(src, 'fifo')])
  const snap1 = path.join(mnt, `${prefix}snap1`)
  sh('btrfs', ['subvolume', 'snapshot', '-r', src, snap1])

  appendFileSync(path.join(src, 'big.bin'), randomBytes(200_000))
  renameSync(path.join(src, 'dir/f2'), path.join(src, 'dir/sub/f2-moved'))
  unlinkSync(path.join(src, 'dir/f3'))
  sh('cp', ['--reflink=always', path.join(src, 'big.bin'), path.join(src, 'big-clone.bin')])
  linkSync(path.join(src, 'dir/f4'), path.join(src, 'hard'))
  writeFileSync(path.join(src, 'new.txt'), randomBytes(70_000))
  const snap2 = path.join(mnt, `${prefix}snap2`)
  sh('btrfs', ['subvolume', 'snapshot', '-r', src, snap2])

  rmSync(path.join(src, 'dir/sub'), { recursive: true })
  writeFileSync(path.join(src, 'dir/f5'), randomBytes(10_000))
  sh('truncate', ['-s', '8M', path.join(src, 'new.txt')])
  const snap3 = path.join(mnt, `${prefix}snap3`)
  sh('btrfs', ['subvolume', 'snapshot', '-r', src, snap3])
  return { src, snap1, snap2, snap3 }
}

/** What `btrfs send ARGS` writes, read back from a file. */
export function btrfsSend(dir: string, args: string[]): Buffer {
  const out = path.join(dir, `oracle-${process.hrtime.bigint()}.stream`)
  sh('btrfs', ['send', '-q', '-f', out, ...args])
  const bytes = readFileSync(out)
  rmSync(out)
  return bytes
}

export async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** Open fds of this process (to prove nothing leaks). */
export function openFdCount(): number {
  return sh('ls', ['/proc/self/fd']).trim().split('\n').length
}

/** Threads of this process. */
export function threadCount(): number {
  const status = readFileSync('/proc/self/status', 'utf8')
  return Number(/^Threads:\s+(\d+)/m.exec(status)![1])
}

export function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now()
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (check()) resolve()
      else if (Date.now() - start > timeoutMs) reject(new Error('condition not met in time'))
      else setTimeout(tick, 20)
    }
    tick()
  })
}
