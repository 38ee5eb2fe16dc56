// send() must write byte for byte what `btrfs send` writes for the same snapshots and flags:
// full, incremental, clone sources with an automatic parent, no-data, several subvolumes in both
// forms, parents given by id, and the direct-to-fd form.
import { open, readFile } from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { send, sendToFd, subvolume } from '../../lib/index.js'
import { describeBtrfs } from '../support/btrfs.js'
import { btrfsSend, drain, makeSnapshots, type Snapshots } from './fixtures.js'

describeBtrfs('send() equals btrfs send', { size: '1G' }, (fs) => {
  let s: Snapshots
  beforeAll(() => {
    s = makeSnapshots(fs().mnt)
  })

  const cases: Array<[string, () => [string | string[], Parameters<typeof send>[1], string[]]]> = [
    ['full, protocol 1', () => [s.snap1, {}, [s.snap1]]],
    ['full, protocol 2', () => [s.snap1, { protocol: 2 }, ['--proto', '2', s.snap1]]],
    ['incremental (-p)', () => [s.snap2, { parent: s.snap1 }, ['-p', s.snap1, s.snap2]]],
    ['incremental chain snap3 from snap2, v2', () => [s.snap3, { parent: s.snap2, protocol: 2 }, ['--proto', '2', '-p', s.snap2, s.snap3]]],
    ['clone sources only: automatic parent', () => [s.snap2, { cloneSources: [s.snap1] }, ['-c', s.snap1, s.snap2]]],
    ['clone sources only, two subvolumes: the first becomes the second one\'s parent', () => [[s.snap2, s.snap3], { cloneSources: [s.snap1] }, ['-c', s.snap1, s.snap2, s.snap3]]],
    ['parent plus extra clone source', () => [s.snap3, { parent: s.snap2, cloneSources: [s.snap1] }, ['-p', s.snap2, '-c', s.snap1, s.snap3]]],
    ['no file data', () => [s.snap2, { parent: s.snap1, noFileData: true }, ['--no-data', '-p', s.snap1, s.snap2]]],
    ['two subvolumes, concatenated streams', () => [[s.snap1, s.snap2], {}, [s.snap1, s.snap2]]],
    ['two subvolumes, one stream (-e)', () => [[s.snap1, s.snap2], { singleStream: true }, ['-e', s.snap1, s.snap2]]],
    ['three subvolumes with a parent, -e, v2', () => [[s.snap1, s.snap2, s.snap3], { parent: s.snap1, singleStream: true, protocol: 2 }, ['--proto', '2', '-e', '-p', s.snap1, s.snap1, s.snap2, s.snap3]]],
  ]

  test.each(cases)('%s', async (_name, make) => {
    const [subvols, options, args] = make()
    const ours = await drain(send(subvols, options))
    const theirs = btrfsSend(fs().dir, args)
    expect(ours.length).toBeGreaterThan(17)
    expect(ours.length).toBe(theirs.length)
    expect(ours.equals(theirs)).toBe(true)
  })

  test('parent and clone source given by subvolume id', async () => {
    const id1 = (await subvolume.info(s.snap1)).id
    const ours = await drain(send(s.snap2, { parent: id1, cloneSources: [id1] }))
    expect(ours.equals(btrfsSend(fs().dir, ['-p', s.snap1, s.snap2]))).toBe(true)
  })

  test('piped into a TCP socket (README example): the peer receives exactly btrfs send\'s bytes', async () => {
    const received: Buffer[] = []
    const server = net.createServer((conn) => conn.on('data', (d) => received.push(d)))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const closed = new Promise((resolve) => server.on('connection', (conn) => conn.on('close', resolve)))
    const { port } = server.address() as net.AddressInfo
    await pipeline(send(s.snap2, { parent: s.snap1 }), net.connect(port, '127.0.0.1'))
    await closed
    server.close()
    expect(Buffer.concat(received).equals(btrfsSend(fs().dir, ['-p', s.snap1, s.snap2]))).toBe(true)
  })

  test('bytesRead counts every byte delivered', async () => {
    const stream = send(s.snap1)
    const bytes = await drain(stream)
    expect(stream.bytesRead).toBe(bytes.length)
  })

  test('direct form writes the same bytes into a file and resolves with their count', async () => {
    const file = path.join(fs().dir, 'direct.stream')
    const handle = await open(file, 'w')
    let written: number
    try {
      written = await sendToFd(s.snap2, handle, { parent: s.snap1 })
    } finally {
      await handle.close()
    }
    const theirs = btrfsSend(fs().dir, ['-p', s.snap1, s.snap2])
    const ours = await readFile(file)
    expect(written).toBe(theirs.length)
    expect(ours.equals(theirs)).toBe(true)
  })

  test('direct form with several subvolumes appends each stream after the last', async () => {
    const file = path.join(fs().dir, 'direct-multi.stream')
    const handle = await open(file, 'w')
    let written: number
    try {
      written = await sendToFd([s.snap1, s.snap2, s.snap3], handle.fd, { cloneSources: [s.snap1] })
    } finally {
      await handle.close()
    }
    const theirs = btrfsSend(fs().dir, ['-c', s.snap1, s.snap1, s.snap2, s.snap3])
    expect(written).toBe(theirs.length)
    expect((await readFile(file)).equals(theirs)).toBe(true)
  })

  test('direct form into an O_APPEND file (splice refuses it; the copy falls back)', async () => {
    const file = path.join(fs().dir, 'append.stream')
    const handle = await open(file, 'a')
    try {
      expect(await sendToFd(s.snap1, handle)).toBe(btrfsSend(fs().dir, [s.snap1]).length)
    } finally {
      await handle.close()
    }
    expect((await readFile(file)).equals(btrfsSend(fs().dir, [s.snap1]))).toBe(true)
  })
})

describeBtrfs('send() equals btrfs send on a compress=zstd mount', { size: '1G', mountOptions: ['compress=zstd'] }, (fs) => {
  let s: Snapshots
  beforeAll(() => {
    s = makeSnapshots(fs().mnt)
  })

  test('protocol 2 with compressed data, full', async () => {
    const ours = await drain(send(s.snap1, { protocol: 2, compressed: true }))
    const theirs = btrfsSend(fs().dir, ['--proto', '2', '--compressed-data', s.snap1])
    expect(ours.equals(theirs)).toBe(true)
    // The stream really carries encoded writes (command 25), not plain writes of the text.
    expect(ours.length).toBeLessThan(btrfsSend(fs().dir, ['--proto', '2', s.snap1]).length)
  })

  test('compressed implies protocol 2, incremental', async () => {
    const ours = await drain(send(s.snap2, { parent: s.snap1, compressed: true }))
    const theirs = btrfsSend(fs().dir, ['--compressed-data', '-p', s.snap1, s.snap2])
    expect(ours.equals(theirs)).toBe(true)
  })
})
