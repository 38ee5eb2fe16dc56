// ENCODED_WRITE both ways: written as it is through BTRFS_IOC_ENCODED_WRITE, and with
// forceDecompress through the fallback decoders (zlib, zstd, btrfs LZO), each on extents of every
// shape the kernel sends (inline, whole, partial references into a larger extent, the last one
// clamped to i_size). The stream is checked to really carry each compression type.
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { parse, receive } from '../../lib/index.js'
import { describeBtrfs, sh } from '../support/btrfs.js'
import { chunked, digest, streamOf } from './support/harness.js'
import { bytes } from './support/scenarios.js'

function text(seed: string, n: number): Buffer {
  const words = ['alpha', 'beta', 'gamma', 'delta', seed]
  const r = bytes(seed, n)
  let s = ''
  for (let i = 0; s.length < n; i++) s += `${words[r[i % r.length] % words.length]}${r[(i * 3) % r.length] % 10} `
  return Buffer.from(s.slice(0, n))
}

describeBtrfs('receive: encoded writes and their decompression fallback', { size: '1G' }, (fs) => {
  let snap: string
  let stream: Buffer
  beforeAll(async () => {
    const src = path.join(fs().mnt, 'src')
    sh('btrfs', ['subvolume', 'create', src])
    for (const algo of ['zlib', 'lzo', 'zstd']) {
      const dir = path.join(src, algo)
      mkdirSync(dir)
      sh('btrfs', ['property', 'set', dir, 'compression', algo])
      writeFileSync(path.join(dir, 'inline'), text(`${algo}i`, 1500))
      writeFileSync(path.join(dir, 'large'), text(`${algo}l`, 1_000_000 + 123))
      writeFileSync(path.join(dir, 'partial'), text(`${algo}p`, 300_000))
      // Overwrite the middle so the file references parts of its first compressed extents.
      sh('dd', ['if=/dev/urandom', `of=${path.join(dir, 'partial')}`, 'bs=4096', 'seek=10', 'count=3', 'conv=notrunc', 'status=none'])
    }
    sh('sync', [])
    snap = path.join(fs().mnt, 'snap')
    sh('btrfs', ['subvolume', 'snapshot', '-r', src, snap])
    stream = await streamOf(snap, { protocol: 2, compressed: true })
  })

  test('the stream carries zlib, zstd and lzo encoded writes', async () => {
    const seen = new Set<number>()
    for await (const cmd of parse(chunked(stream))) if (cmd.type === 'encoded_write') seen.add(cmd.compression ?? 0)
    expect([...seen].sort()).toEqual([1, 2, 3])
  })

  test.each([
    ['as encoded writes', false],
    ['decompressed (forceDecompress)', true],
  ])('received %s equals the source', async (_name, forceDecompress) => {
    const dest = path.join(fs().mnt, `dest-${forceDecompress}`)
    mkdirSync(dest)
    await receive(chunked(stream), dest, { forceDecompress })
    expect(digest(path.join(dest, 'snap'), { rootMtime: false })).toBe(digest(snap, { rootMtime: false }))
  })
})
