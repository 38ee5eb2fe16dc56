// The scenario corpus (support/scenarios.ts), each received as a full stream and then as every
// incremental of its chain, once as protocol v1 and once as v2 with compressed data from a
// compress=zstd source. Pass = our received tree equals the source snapshot and btrfs receive's
// result by tree digest, both are read-only, and the received uuids are the same.
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { receive } from '../../lib/index.js'
import type { SendOptions } from '../../lib/index.js'
import { describeBtrfs, sh } from '../support/btrfs.js'
import { btrfsReceive, chunked, digest, extraFilesystems, streamOf, subvolumeShow } from './support/harness.js'
import { SCENARIOS } from './support/scenarios.js'

describeBtrfs('receive: scenario corpus', { size: '2G', mountOptions: ['compress=zstd'] }, (fs) => {
  const chains: string[][] = []
  beforeAll(() => {
    SCENARIOS.forEach((scenario, i) => {
      const src = path.join(fs().mnt, `s${i}`)
      sh('btrfs', ['subvolume', 'create', src])
      scenario.build(src)
      const chain = [path.join(fs().mnt, `s${i}-0`)]
      sh('btrfs', ['subvolume', 'snapshot', '-r', src, chain[0]])
      scenario.changes.forEach((change, k) => {
        change(src)
        chain.push(path.join(fs().mnt, `s${i}-${k + 1}`))
        sh('btrfs', ['subvolume', 'snapshot', '-r', src, chain[k + 1]])
      })
      chains.push(chain)
    })
  })

  const variants: Array<[string, SendOptions]> = [
    ['protocol 1', {}],
    ['protocol 2, compressed', { protocol: 2, compressed: true }],
  ]
  describe.each(variants)('%s', (_variant, sendOptions) => {
    // One filesystem per receiver, so the two copies never share a UUID tree.
    const receivers = extraFilesystems(2, { size: '1G' })

    test.each(SCENARIOS.map((s, i) => [s.name, i] as const))('%s', async (_name, i) => {
      const [ours, theirs] = receivers().map((f) => f.mnt)
      const chain = chains[i]
      for (let k = 0; k < chain.length; k++) {
        const stream = await streamOf(chain[k], k === 0 ? sendOptions : { ...sendOptions, parent: chain[k - 1] })
        const result = await receive(chunked(stream), ours)
        btrfsReceive(stream, theirs, fs().dir)
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
    })
  })
})
