// StreamDescriber reports what the stream says about each subvolume (uuid, name, ctransid,
// parent, clone sources other than itself and its parent), the version and the counts, for any
// chunking of the input; a malformed stream fails with the decoder's coded error.
import { StreamEncoder, type CommandData } from '../../lib/index.js'
import { describeStream, StreamDescriber } from '../../lib/stream/describe.js'

const b = (s: string) => Buffer.from(s)
const uuid = (n: number) => Buffer.alloc(16, n)
const text = (n: number) => uuid(n).toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5')

function incremental(): Buffer {
  const enc = new StreamEncoder({ version: 2 })
  const clone = (from: number): CommandData => ({ type: 'clone', path: b('f'), fileOffset: 0, cloneLen: 4096, cloneUuid: uuid(from), cloneCtransid: 5n, clonePath: b('g'), cloneOffset: 0 })
  return enc.stream([
    { type: 'snapshot', path: b('daily-2'), uuid: uuid(2), ctransid: 20n, cloneUuid: uuid(1), cloneCtransid: 10n },
    { type: 'mkfile', path: b('f'), ino: 257n },
    clone(1), clone(2), clone(7), clone(7), clone(8),
    { type: 'end' },
  ])
}

test('an incremental with clone sources: parent, and the clone sources that are neither itself nor the parent', async () => {
  const bytes = incremental()
  for (const size of [1, 7, 4096, bytes.length]) {
    const parts: Buffer[] = []
    for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size))
    const d = await describeStream(parts)
    expect(d).toEqual({
      version: 2,
      bytes: bytes.length,
      commands: 8,
      subvolumes: [{ name: 'daily-2', uuid: text(2), ctransid: 20n, parentUuid: text(1), parentCtransid: 10n, cloneUuids: [text(7), text(8)] }],
    })
  }
})

test('concatenated streams: one entry per subvolume, each with its own clone sources', async () => {
  const full = new StreamEncoder({ version: 1 }).stream([{ type: 'subvol', path: b('a'), uuid: uuid(1), ctransid: 3n }, { type: 'end' }])
  const d = await describeStream([full, incremental()])
  expect(d.version).toBe(1)
  expect(d.subvolumes.map((s) => [s.name, s.parentUuid, s.cloneUuids])).toEqual([['a', null, []], ['daily-2', text(1), [text(7), text(8)]]])
})

test('no input is an empty description; a truncated or corrupt stream is a coded error', async () => {
  expect(await describeStream([])).toEqual({ version: null, bytes: 0, commands: 0, subvolumes: [] })
  const bytes = incremental()
  await expect(describeStream([bytes.subarray(0, bytes.length - 3)])).rejects.toMatchObject({ code: 'BTRFS_STREAM_TRUNCATED' })
  const bad = Buffer.from(bytes)
  bad[40] ^= 0xff
  const d = new StreamDescriber()
  expect(() => d.push(bad)).toThrow(expect.objectContaining({ code: 'BTRFS_STREAM_BAD_CRC' }))
})
