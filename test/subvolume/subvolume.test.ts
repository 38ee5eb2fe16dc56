// The subvolume API against btrfs-progs: what info() reports equals `btrfs subvolume show`,
// list() equals `btrfs subvolume list`, and create/snapshot/delete/read-only act as the CLI sees.
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { send, subvolume } from '../../lib/index.js'
import { describeBtrfs, sh } from '../support/btrfs.js'

/** `btrfs subvolume show` as a map of its "Key: value" lines, plus its first line as 'path'. */
function show(p: string): Record<string, string> {
  const out = sh('btrfs', ['subvolume', 'show', p]).split('\n')
  const fields: Record<string, string> = { path: out[0].trim() }
  for (const line of out.slice(1)) {
    const m = /^\s*([^:]+):\s*(.*)$/.exec(line)
    if (m) fields[m[1].trim()] = m[2].trim()
  }
  return fields
}

const dash = (v: string | null) => v ?? '-'

describeBtrfs('subvolume API', { size: '512M' }, (fs) => {
  test('create, then info() equals btrfs subvolume show', async () => {
    const p = path.join(fs().mnt, 'a')
    await subvolume.create(p)
    writeFileSync(path.join(p, 'f'), 'x')
    const info = await subvolume.info(p)
    const progs = show(p)
    expect(info.path).toBe(progs.path)
    expect(info.name).toBe(progs.Name)
    expect(info.uuid).toBe(progs.UUID)
    expect(dash(info.parentUuid)).toBe(progs['Parent UUID'])
    expect(dash(info.receivedUuid)).toBe(progs['Received UUID'])
    expect(String(info.id)).toBe(progs['Subvolume ID'])
    expect(String(info.generation)).toBe(progs.Generation)
    expect(String(info.otransid)).toBe(progs['Gen at creation'])
    expect(String(info.parentId)).toBe(progs['Parent ID'])
    expect(info.readOnly).toBe(false)
    expect(progs.Flags).toBe('-')
  })

  test('snapshot read-only and writable; info() of a nested snapshot', async () => {
    const src = path.join(fs().mnt, 'b')
    await subvolume.create(src)
    mkdirSync(path.join(fs().mnt, 'snaps/deep'), { recursive: true })
    const ro = path.join(fs().mnt, 'snaps/deep/b-ro')
    const rw = path.join(fs().mnt, 'snaps/b-rw')
    await subvolume.snapshot(src, ro, { readOnly: true })
    await subvolume.snapshot(src, rw)
    for (const [p, readOnly] of [[ro, true], [rw, false]] as const) {
      const info = await subvolume.info(p)
      const progs = show(p)
      expect(info.path).toBe(progs.path)
      expect(info.parentUuid).toBe(progs['Parent UUID'])
      expect(info.readOnly).toBe(readOnly)
      expect(progs.Flags).toBe(readOnly ? 'readonly' : '-')
      expect(await subvolume.isReadOnly(p)).toBe(readOnly)
    }
    expect((await subvolume.info(ro)).parentUuid).toBe((await subvolume.info(src)).uuid)
  })

  test('setReadOnly flips the flag both ways', async () => {
    const p = path.join(fs().mnt, 'c')
    await subvolume.create(p)
    await subvolume.setReadOnly(p, true)
    expect(show(p).Flags).toBe('readonly')
    await subvolume.setReadOnly(p, false)
    expect(show(p).Flags).toBe('-')
  })

  test('a received subvolume: transids and received uuid as progs shows; making it writable needs force', async () => {
    const src = path.join(fs().mnt, 'd')
    await subvolume.create(src)
    writeFileSync(path.join(src, 'f'), 'data')
    const snap = path.join(fs().mnt, 'd-snap')
    await subvolume.snapshot(src, snap, { readOnly: true })
    const into = path.join(fs().mnt, 'recv')
    mkdirSync(into)
    const chunks: Buffer[] = []
    for await (const c of send(snap)) chunks.push(c as Buffer)
    sh('btrfs', ['receive', into], { input: Buffer.concat(chunks) })
    const received = path.join(into, 'd-snap')
    const info = await subvolume.info(received)
    const progs = show(received)
    expect(info.receivedUuid).toBe((await subvolume.info(snap)).uuid)
    expect(info.receivedUuid).toBe(progs['Received UUID'])
    expect(String(info.stransid)).toBe(progs['Send transid'])
    expect(String(info.rtransid)).toBe(progs['Receive transid'])
    expect(info.rtransid).toBeGreaterThan(0n)
    expect(info.rtime).toBeInstanceOf(Date)

    await expect(subvolume.setReadOnly(received, false)).rejects.toMatchObject({ code: 'BTRFS_INVALID_ARGUMENT' })
    expect(show(received).Flags).toBe('readonly')
    await subvolume.setReadOnly(received, false, { force: true })
    expect(show(received).Flags).toBe('-')
    expect(show(received)['Received UUID']).toBe('-')
  })

  test('list() equals btrfs subvolume list, below the listed directory only', async () => {
    const base = path.join(fs().mnt, 'tree')
    mkdirSync(base)
    await subvolume.create(path.join(base, 'one'))
    mkdirSync(path.join(base, 'one/inner'))
    await subvolume.create(path.join(base, 'one/inner/two'))
    await subvolume.snapshot(path.join(base, 'one'), path.join(base, 'one-ro'), { readOnly: true })

    const progs = sh('btrfs', ['subvolume', 'list', fs().mnt])
      .trim()
      .split('\n')
      .map((l) => /^ID (\d+) gen \d+ top level (\d+) path (.*)$/.exec(l)!)
      .map((m) => ({ id: BigInt(m[1]), parentId: BigInt(m[2]), topLevelPath: m[3] }))
    const all = await subvolume.list(fs().mnt)
    expect(all.map((e) => ({ id: e.id, parentId: e.parentId, topLevelPath: e.topLevelPath })).sort((a, b) => Number(a.id - b.id))).toEqual(
      progs.sort((a, b) => Number(a.id - b.id)),
    )

    const below = await subvolume.list(base)
    expect(below.map((e) => e.path)).toEqual(
      [path.join(base, 'one'), path.join(base, 'one-ro'), path.join(base, 'one/inner/two')].sort(),
    )
    const ro = below.find((e) => e.path.endsWith('one-ro'))!
    expect(ro.readOnly).toBe(true)
    expect(ro.parentUuid).toBe((await subvolume.info(path.join(base, 'one'))).uuid)

    // Listing inside a subvolume, at a plain directory.
    expect((await subvolume.list(path.join(base, 'one/inner'))).map((e) => e.path)).toEqual([path.join(base, 'one/inner/two')])
  })

  test('delete removes a subvolume (read-only too) and refuses plain directories', async () => {
    const p = path.join(fs().mnt, 'gone')
    await subvolume.create(p)
    const ro = path.join(fs().mnt, 'gone-ro')
    await subvolume.snapshot(p, ro, { readOnly: true })
    await subvolume.delete(ro)
    await subvolume.delete(p)
    expect(sh('btrfs', ['subvolume', 'list', fs().mnt])).not.toMatch(/path gone/)
    mkdirSync(path.join(fs().mnt, 'plain'))
    await expect(subvolume.delete(path.join(fs().mnt, 'plain'))).rejects.toMatchObject({ code: 'BTRFS_NOT_SUBVOLUME' })
  })

  test('errors carry codes and paths', async () => {
    await expect(subvolume.create(path.join(fs().mnt, 'missing/x'))).rejects.toMatchObject({ code: 'ENOENT' })
    const dup = path.join(fs().mnt, 'dup')
    await subvolume.create(dup)
    await expect(subvolume.create(dup)).rejects.toMatchObject({ code: 'EEXIST', errno: -17, syscall: 'ioctl', ioctl: 'BTRFS_IOC_SUBVOL_CREATE_V2', path: dup })
    await expect(subvolume.info('/proc')).rejects.toMatchObject({ code: 'BTRFS_NOT_BTRFS' })
    await expect(subvolume.create('')).rejects.toMatchObject({ code: 'BTRFS_INVALID_ARGUMENT' })
    await expect(subvolume.snapshot(dup, '/')).rejects.toMatchObject({ code: 'BTRFS_INVALID_ARGUMENT' })
  })
})
