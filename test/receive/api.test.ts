// The receive API a Node user expects: receive() from a file path, createReceiveStream() as the
// destination of pipeline() (same tree and received uuids as btrfs receive; errors propagate;
// nothing is left behind on failure), and unknown option names refused as send() refuses them.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { createReceiveStream, receive } from '../../lib/index.js'
import { describeBtrfs } from '../support/btrfs.js'
import { btrfsReceive, chunked, digest, extraFilesystems, snapshotPair, subvolumeShow } from './support/harness.js'
import { bytes } from './support/scenarios.js'

describeBtrfs('receive API: path sources, createReceiveStream, option names', { size: '1G' }, (fs) => {
  const dests = extraFilesystems(2, { size: '1G' })
  let full: Buffer
  let inc: Buffer

  beforeAll(async () => {
    ;({ full, inc } = await snapshotPair(
      fs().mnt,
      (src) => {
        for (let i = 0; i < 30; i++) writeFileSync(path.join(src, `f${i}`), bytes(`f${i}`, 3000 + 977 * i))
        writeFileSync(path.join(src, 'big'), bytes('big', 3 << 20))
      },
      (src) => writeFileSync(path.join(src, 'f7'), 'changed'),
    ))
  })

  function expectSameAsBtrfsReceive(ours: string, theirs: string): void {
    for (const name of ['snap0', 'snap1']) {
      expect(digest(path.join(ours, name))).toBe(digest(path.join(theirs, name)))
      expect(subvolumeShow(path.join(ours, name))).toMatchObject({
        receivedUuid: subvolumeShow(path.join(theirs, name)).receivedUuid,
        readOnly: true,
      })
    }
  }

  test('receive(path) and pipeline(source, createReceiveStream(dest)) leave what btrfs receive leaves', async () => {
    const [a, b] = dests().map((d) => path.join(d.mnt, `run-${Date.now()}`))
    for (const d of [a, b]) mkdirSync(d)
    const theirs = path.join(fs().mnt, `theirs-${Date.now()}`)
    mkdirSync(theirs)
    const files = [full, inc].map((s, i) => {
      const f = path.join(fs().dir, `api-${i}.stream`)
      writeFileSync(f, s)
      return f
    })
    for (const [i, stream] of [full, inc].entries()) {
      const fromPath = await receive(files[i], a)
      expect(fromPath.subvolumes.map((s) => s.name)).toEqual([i === 0 ? 'snap0' : 'snap1'])
      const writable = createReceiveStream(b)
      await pipeline(chunked(stream, 100_000), writable)
      // pipeline() resolved: the receive is complete, not merely the bytes written.
      expect((await writable.result).subvolumes.map((s) => s.name)).toEqual([i === 0 ? 'snap0' : 'snap1'])
      btrfsReceive(stream, theirs, fs().dir)
    }
    expectSameAsBtrfsReceive(a, theirs)
    expectSameAsBtrfsReceive(b, theirs)
  })

  test('a corrupt stream through pipeline() rejects with the coded error and leaves nothing', async () => {
    const dest = path.join(dests()[0].mnt, `bad-${Date.now()}`)
    mkdirSync(dest)
    const bad = Buffer.from(full)
    bad[bad.length - 2000] ^= 0xff
    await expect(pipeline(chunked(bad, 65536), createReceiveStream(dest))).rejects.toMatchObject({ code: 'BTRFS_STREAM_BAD_CRC' })
    expect(readdirSync(dest)).toEqual([])
  })

  test('destroying the stream mid-way aborts the receive and deletes the partial subvolume', async () => {
    const dest = path.join(dests()[0].mnt, `abort-${Date.now()}`)
    mkdirSync(dest)
    const writable = createReceiveStream(dest)
    await new Promise<void>((resolve) => writable.write(full.subarray(0, full.length >> 1), () => resolve()))
    const errored = new Promise<Error>((resolve) => writable.once('error', resolve))
    const closed = new Promise((resolve) => writable.once('close', resolve))
    writable.destroy(new Error('caller gave up'))
    await expect(writable.result).rejects.toBeDefined()
    expect((await errored).message).toBe('caller gave up')
    await closed
    expect(readdirSync(dest)).toEqual([])
  })

  test('unknown option names are refused (BTRFS_INVALID_ARGUMENT), as send() refuses them', async () => {
    const dest = dests()[0].mnt
    await expect(receive([full], dest, { maxError: 0 } as never)).rejects.toMatchObject({ code: 'BTRFS_INVALID_ARGUMENT', message: expect.stringContaining("'maxError'") })
    expect(() => createReceiveStream(dest, { keepPartials: true } as never)).toThrow(expect.objectContaining({ code: 'BTRFS_INVALID_ARGUMENT' }))
  })
})
