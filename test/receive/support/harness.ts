// Shared pieces of the receive integration tests: extra loopback filesystems (one per receiver,
// so received uuids never collide in one UUID tree), streams made by our send(), btrfs receive as
// the oracle, and the tree digest (tree-digest.py) every comparison uses.
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { Readable } from 'node:stream'
import { receive, send } from '../../../lib/index.js'
import type { SendOptions } from '../../../lib/index.js'
import { createLoopBtrfs, destroyLoopBtrfs, type LoopBtrfs } from '../../../scripts/loop-btrfs.js'
import { sh } from '../../support/btrfs.js'
import type { Scenario } from './scenarios.js'

const DIGEST = path.join(__dirname, 'tree-digest.py')

/** A tree digest (see tree-digest.py): equal strings mean equal trees. */
export function digest(dir: string, options: { rootMtime?: boolean } = {}): string {
  const args = [DIGEST, dir]
  if (options.rootMtime === false) args.push('--no-root-mtime')
  return execFileSync('python3', args, { encoding: 'utf8', maxBuffer: 1 << 28 })
}

/** Our send() of `subvol` (optionally incremental) collected into one Buffer. */
export async function streamOf(subvol: string | string[], options: SendOptions = {}): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of send(subvol, options)) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** btrfs receive of `stream` into `dest` (the oracle). */
export function btrfsReceive(stream: Buffer, dest: string, workDir: string, extra: string[] = []): void {
  const file = path.join(workDir, `stream-${process.hrtime.bigint()}.bin`)
  writeFileSync(file, stream)
  sh('btrfs', ['receive', '-q', ...extra, '-f', file, dest])
  sh('rm', ['-f', file])
}

/** A Readable over a Buffer in chunks of `size` bytes (1 for byte-at-a-time). */
export function chunked(bytes: Buffer, size = 65536): Readable {
  const parts: Buffer[] = []
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size))
  return Readable.from(parts)
}

/** `btrfs subvolume show` fields we compare: received uuid and read-only flag. */
export function subvolumeShow(p: string): { receivedUuid: string; readOnly: boolean; uuid: string } {
  const out = sh('btrfs', ['subvolume', 'show', p])
  const field = (name: string) => new RegExp(`^\\s*${name}:\\s*(\\S+)`, 'm').exec(out)?.[1] ?? ''
  return { receivedUuid: field('Received UUID'), uuid: field('UUID'), readOnly: /Flags:\s*readonly/.test(out) }
}

/** Extra loopback filesystems for a suite, made in beforeAll and always destroyed in afterAll. */
export function extraFilesystems(count: number, options: { size?: string; mountOptions?: string[] } = {}): () => LoopBtrfs[] {
  let made: LoopBtrfs[] = []
  beforeAll(() => {
    for (let i = 0; i < count; i++) made.push(createLoopBtrfs(options))
  })
  afterAll(() => {
    for (const f of made) destroyLoopBtrfs(f)
    made = []
  })
  return () => made
}

/** Builds `scenario` in subvolume `src` and snapshots it read-only before and after each change round. */
export function buildChain(scenario: Scenario, src: string): string[] {
  sh('btrfs', ['subvolume', 'create', src])
  scenario.build(src)
  const chain = [`${src}-0`]
  sh('btrfs', ['subvolume', 'snapshot', '-r', src, chain[0]])
  scenario.changes.forEach((change, k) => {
    change(src)
    chain.push(`${src}-${k + 1}`)
    sh('btrfs', ['subvolume', 'snapshot', '-r', src, chain[k + 1]])
  })
  return chain
}

/**
 * Sends every snapshot of `chain` (full, then each incremental on the previous), receives each
 * with our receive() into `ours` and with btrfs receive into `theirs`, and expects: our tree
 * equals the source snapshot and btrfs receive's (tree digest), read-only, same received uuid.
 */
export async function expectChainReceived(chain: string[], sendOptions: SendOptions, ours: string, theirs: string, workDir: string): Promise<void> {
  for (let k = 0; k < chain.length; k++) {
    const stream = await streamOf(chain[k], k === 0 ? sendOptions : { ...sendOptions, parent: chain[k - 1] })
    const result = await receive(chunked(stream), ours)
    btrfsReceive(stream, theirs, workDir)
    const name = path.basename(chain[k])
    const mine = path.join(ours, name)
    expect(result.subvolumes.map((s) => s.path)).toEqual([mine])
    // Equal to the source snapshot and to what btrfs receive made. The one exception is the
    // subvolume root's mtime, which the kernel does not always send (btrfs-progs #461): where
    // btrfs receive's copy has it right, ours must too.
    const source = digest(chain[k])
    const progs = digest(path.join(theirs, name))
    const noRoot = digest(mine, { rootMtime: false })
    expect(noRoot).toBe(digest(chain[k], { rootMtime: false }))
    expect(noRoot).toBe(digest(path.join(theirs, name), { rootMtime: false }))
    if (progs === source) expect(digest(mine)).toBe(source)
    const a = subvolumeShow(mine)
    const b = subvolumeShow(path.join(theirs, name))
    expect(a.readOnly).toBe(true)
    expect(a.receivedUuid).toBe(b.receivedUuid)
    expect(result.subvolumes[0].receivedUuid).toBe(a.receivedUuid)
    expect(result.subvolumes[0].kind).toBe(k === 0 ? 'subvol' : 'snapshot')
  }
}

/** Two read-only snapshots of one subvolume and the streams between them (see snapshotPair). */
export interface SnapshotPair {
  snap0: string
  snap1: string
  /** Full stream of snap0. */
  full: Buffer
  /** snap1 incremental on snap0. */
  inc: Buffer
}

/**
 * Creates subvolume `<mnt>/<name>`, fills it with `build`, snapshots it as `<mnt>/<names[0]>`,
 * applies `change`, snapshots it as `<mnt>/<names[1]>`, and sends both (full, then incremental).
 */
export async function snapshotPair(
  mnt: string,
  build: (src: string) => void,
  change: (src: string) => void,
  names: [string, string] = ['snap0', 'snap1'],
): Promise<SnapshotPair> {
  const src = path.join(mnt, 'src')
  sh('btrfs', ['subvolume', 'create', src])
  build(src)
  const snap0 = path.join(mnt, names[0])
  sh('btrfs', ['subvolume', 'snapshot', '-r', src, snap0])
  change(src)
  const snap1 = path.join(mnt, names[1])
  sh('btrfs', ['subvolume', 'snapshot', '-r', src, snap1])
  return { snap0, snap1, full: await streamOf(snap0), inc: await streamOf(snap1, { parent: snap0 }) }
}
