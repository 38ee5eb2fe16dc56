// `btrfs-stream ls` and `btrfs-stream diff` as users run them (the built dist/cli/main.js), on
// the recorded kernel streams: each output line is the library's record in the documented form
// (the records themselves are checked against real trees in truth.test.ts), errors are coded and
// printed as progs prints them.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { diff, list, StreamFormatError } from '../../lib/index.js'
import type { CommandData } from '../../lib/stream/commands.js'
import { StreamEncoder } from '../../lib/stream/encoder.js'
import { createListFormatter, diffJson, diffLine, escapeZfs, listJson } from '../../lib/inspect/format.js'
import { FIXTURE_DIR, fixture } from '../stream/helpers.js'

const CLI = path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js')
const run = (args: string[], input?: Buffer): SpawnSyncReturns<string> =>
  spawnSync(CLI, args, { input, encoding: 'latin1', env: { ...process.env, TZ: 'UTC' } })
const file = (name: string): string => path.join(FIXTURE_DIR, name)

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}
const lines = (xs: string[]): string => xs.map((l) => l + '\n').join('')

const STREAMS = ['full-v1.bin', 'full-v2.bin', 'incremental-v1.bin', 'incremental-v2.bin', 'nodata-v2.bin', 'multi-plain-v1.bin', 'clone-v2.bin', 'compressed-v2.bin']

describe('btrfs-stream ls', () => {
  test.each(STREAMS)('%s: paths, -l and --json are list() in the documented forms', async (name) => {
    const entries = await collect(list(file(name)))
    expect(entries.length).toBeGreaterThan(0)
    const plain = createListFormatter(false)
    const long = createListFormatter(true, 'UTC')
    expect(run(['ls', '-f', file(name)])).toMatchObject({ status: 0, stderr: '', stdout: lines(entries.map(plain)) })
    expect(run(['ls', '-l', '-f', file(name)])).toMatchObject({ status: 0, stdout: lines(entries.map(long)) })
    expect(run(['ls', '--json'], fixture(name))).toMatchObject({ status: 0, stdout: lines(entries.map(listJson)) })
  })

  test('the full stream lists every name the dump creates, once, by final path', async () => {
    const entries = await collect(list(file('full-v2.bin')))
    const paths = entries.map((e) => e.path.toString('latin1'))
    expect(new Set(paths).size).toBe(paths.length)
    // No kernel orphan name survives to the listing.
    expect(paths.filter((p) => /(^|\/)o\d+-\d+-\d+$/.test(p))).toEqual([])
  })
})

describe('btrfs-stream diff', () => {
  test.each(['incremental-v1.bin', 'incremental-v2.bin', 'nodata-v2.bin'])('%s: text and --json are diff() in the documented forms', async (name) => {
    const records = await collect(diff(file(name)))
    expect(records.length).toBeGreaterThan(0)
    expect(run(['diff', '-f', file(name)])).toMatchObject({ status: 0, stderr: '', stdout: lines(records.map(diffLine)) })
    const json = run(['diff', '--json', `--file=${file(name)}`])
    expect(json.stdout).toBe(lines(records.map(diffJson)))
    for (const line of json.stdout.trim().split('\n')) {
      const o = JSON.parse(line)
      expect(['added', 'deleted', 'modified', 'renamed']).toContain(o.op)
      expect(o.op === 'renamed').toBe(o.from !== undefined)
    }
  })

  test("names escape as zfs diff escapes them: bytes outside '!'..'~' and backslash as \\ and 4 octal digits", () => {
    expect(escapeZfs(Buffer.from('a b\\c\n\xff~!', 'latin1'))).toBe('a\\0040b\\0134c\\0012\\0377~!')
  })
})

describe('errors', () => {
  const enc = new StreamEncoder({ version: 1 })
  const head: CommandData = { type: 'subvol', path: Buffer.from('s'), uuid: Buffer.alloc(16, 1), ctransid: 7n }

  test.each([
    ['a path under a directory the stream never made', [{ type: 'mkfile', path: Buffer.from('nodir/f'), ino: 257n }]],
    ['a rename of a name that is not there', [{ type: 'rename', path: Buffer.from('x'), pathTo: Buffer.from('y') }]],
  ] as [string, CommandData[]][])('%s: BTRFS_STREAM_PATH_UNKNOWN with offset and command', async (_what, cmds) => {
    const bytes = enc.stream([head, ...cmds, { type: 'end' }])
    for (const op of [(b: Buffer[]) => collect(list(b)), (b: Buffer[]) => collect(diff(b))]) {
      const err = await op([bytes]).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(StreamFormatError)
      expect(err).toMatchObject({ code: 'BTRFS_STREAM_PATH_UNKNOWN', commandIndex: 1 })
    }
    const r = run(['diff'], bytes)
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/^ERROR: .*offset \d+, command #1.*\nERROR: failed to diff the send stream\n$/)
  })

  test('a truncated stream, a missing file and a bad option fail as progs does', () => {
    const cut = fixture('incremental-v2.bin').subarray(0, 200)
    expect(run(['ls'], cut)).toMatchObject({ status: 1, stdout: '', stderr: expect.stringMatching(/^ERROR: input ended inside a command.*\nERROR: failed to list the send stream\n$/) })
    const missing = path.join(os.tmpdir(), `btrfs-stream-missing-${process.pid}`)
    expect(fs.existsSync(missing)).toBe(false)
    expect(run(['diff', '-f', missing])).toMatchObject({ status: 1, stderr: `ERROR: cannot open ${missing}: No such file or directory\n` })
    expect(run(['ls', '--bogus'])).toMatchObject({ status: 1, stderr: expect.stringMatching(/^ERROR: unrecognized option '--bogus'\nusage: btrfs-stream ls/) })
    expect(run(['diff', '-h'])).toMatchObject({ status: 0, stdout: expect.stringMatching(/^usage: btrfs-stream diff/) })
    expect(run(['--help']).stdout).toMatch(/ls +list the entries.*\n.*diff +print what an incremental/s)
  })
})
