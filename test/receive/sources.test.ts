// Where parents and clone sources come from on the receiving side: a stream sent with clone
// sources (`send -c`) clones from another received subvolume, sharing its extents as btrfs
// receive does; and a destination on a `subvol=` mount finds its parent through that mount, or
// fails with a coded error naming the parent when the parent lies outside the mounted subvolume.
import { execFileSync } from 'node:child_process'
import { copyFileSync, constants, mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { parse, receive } from '../../lib/index.js'
import { describeBtrfs, sh } from '../support/btrfs.js'
import { btrfsReceive, chunked, digest, extraFilesystems, snapshotPair, streamOf, subvolumeShow } from './support/harness.js'
import { bytes } from './support/scenarios.js'

/** Bytes of `file` not shared with any other file or snapshot (`btrfs filesystem du`'s Exclusive). */
function exclusiveBytes(file: string): number {
  const out = sh('btrfs', ['filesystem', 'du', '--raw', file])
  const row = out.trim().split('\n').pop() as string
  return Number(row.trim().split(/\s+/)[1])
}

describeBtrfs('receive: clone sources and subvol= mounts', { size: '1G' }, (fs) => {
  const dests = extraFilesystems(2, { size: '1G' })
  let aSnap: string
  let bSnap: string
  let b0Snap: string
  let aStream: Buffer
  let b0Stream: Buffer
  let bStream: Buffer
  let s0: string
  let s1: string
  let full: Buffer
  let inc: Buffer

  beforeAll(async () => {
    const mnt = fs().mnt
    const a = path.join(mnt, 'a')
    sh('btrfs', ['subvolume', 'create', a])
    writeFileSync(path.join(a, 'big'), bytes('clone-source', 4 << 20))
    aSnap = path.join(mnt, 'a-ro')
    sh('btrfs', ['subvolume', 'snapshot', '-r', a, aSnap])
    // b is a separate subvolume (not a snapshot of a); after its first snapshot it gains a
    // reflink of a's file, so its incremental (-p b0-ro -c a-ro) clones from a.
    const b = path.join(mnt, 'b')
    sh('btrfs', ['subvolume', 'create', b])
    writeFileSync(path.join(b, 'own'), bytes('own', 70_000))
    b0Snap = path.join(mnt, 'b0-ro')
    sh('btrfs', ['subvolume', 'snapshot', '-r', b, b0Snap])
    copyFileSync(path.join(a, 'big'), path.join(b, 'copy'), constants.COPYFILE_FICLONE_FORCE)
    sh('sync', [])
    bSnap = path.join(mnt, 'b-ro')
    sh('btrfs', ['subvolume', 'snapshot', '-r', b, bSnap])
    aStream = await streamOf(aSnap)
    b0Stream = await streamOf(b0Snap)
    bStream = await streamOf(bSnap, { parent: b0Snap, cloneSources: [aSnap] })

    ;({ snap0: s0, snap1: s1, full, inc } = await snapshotPair(
      mnt,
      (src) => {
        for (let i = 0; i < 20; i++) writeFileSync(path.join(src, `f${i}`), bytes(`f${i}`, 5000 + i))
      },
      (src) => writeFileSync(path.join(src, 'f3'), 'changed'),
      ['s0', 's1'],
    ))
  })

  test('a stream sent with a clone source clones from the received source: same tree, shared extents, as btrfs receive', async () => {
    const aUuid = subvolumeShow(aSnap).uuid.replace(/-/g, '')
    const cloneFromA: string[] = []
    for await (const c of parse([bStream])) {
      if (c.type === 'clone' && c.cloneUuid.toString('hex') === aUuid) cloneFromA.push(c.path.toString())
    }
    // The kernel really sent clones from a (else this test would prove nothing about sources).
    expect(cloneFromA).toContain('copy')

    const [ours, theirs] = dests().map((d) => d.mnt)
    for (const stream of [aStream, b0Stream, bStream]) {
      await receive(chunked(stream), ours)
      btrfsReceive(stream, theirs, fs().dir)
    }
    sh('sync', [])
    for (const name of ['a-ro', 'b0-ro', 'b-ro']) {
      expect(digest(path.join(ours, name), { rootMtime: false })).toBe(digest(path.join(fs().mnt, name), { rootMtime: false }))
      expect(digest(path.join(ours, name), { rootMtime: false })).toBe(digest(path.join(theirs, name), { rootMtime: false }))
      expect(subvolumeShow(path.join(ours, name)).receivedUuid).toBe(subvolumeShow(path.join(theirs, name)).receivedUuid)
    }
    // Cloned, not copied: the received copy shares all its data with the received a-ro/big.
    expect(exclusiveBytes(path.join(theirs, 'b-ro', 'copy'))).toBe(0)
    expect(exclusiveBytes(path.join(ours, 'b-ro', 'copy'))).toBe(0)
  })

  test('on a subvol= mount the parent is found through the mount; a parent outside it is a coded error', async () => {
    const dev = dests()[0].device as string
    const top = dests()[0].mnt
    sh('btrfs', ['subvolume', 'create', path.join(top, 'vol')])
    mkdirSync(path.join(top, 'vol', 'backup'))
    mkdirSync(path.join(top, 'outside'))
    const m2 = path.join(fs().dir, 'subvol-mount')
    mkdirSync(m2)
    execFileSync('mount', ['-o', 'subvol=vol', dev, m2])
    try {
      const dest = path.join(m2, 'backup')
      await receive(chunked(full), dest)
      await receive(chunked(inc), dest)
      expect(digest(path.join(dest, 's1'), { rootMtime: false })).toBe(digest(s1, { rootMtime: false }))
      expect(subvolumeShow(path.join(dest, 's1')).readOnly).toBe(true)

      // Only a copy outside `vol` carries the parent's received uuid now: not reachable via m2.
      await receive(chunked(full), path.join(top, 'outside'))
      sh('btrfs', ['subvolume', 'delete', path.join(dest, 's1')])
      sh('btrfs', ['subvolume', 'delete', path.join(dest, 's0')])
      const err = await receive(chunked(inc), dest).then(
        () => undefined,
        (e: unknown) => e as { code?: string; message: string },
      )
      expect(err?.code).toBe('BTRFS_RECEIVE_PARENT_NOT_FOUND')
      expect(err?.message).toContain('outside/s0')
      expect(err?.message).toContain(subvolumeShow(s0).uuid)
    } finally {
      execFileSync('umount', [m2])
    }
  })
})
