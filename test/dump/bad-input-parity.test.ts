// dump() on hand-made bad input against the installed `btrfs receive --dump`: unknown command
// numbers are skipped by both (exit 0, the same lines); an attribute number no version defines
// fails both, after the same lines. receive() refuses an unknown command (it cannot apply what
// it does not know). The oracle is run on every case, so each expectation follows progs.
import { spawnSync } from 'node:child_process'
import { mkdirSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { receive } from '../../lib/receive/index'
import { describeBtrfs } from '../support/btrfs'
import { dump } from '../../lib/dump/dump'
import { BtrfsError, WARNING_CODES } from '../../lib/errors'
import { StreamEncoder, type RawAttribute } from '../../lib/stream/encoder'
import { ATTR, CMD } from '../../lib/stream/constants'

const s = (t: string): Buffer => Buffer.from(t)
const u64 = (n: number): Buffer => {
  const b = Buffer.alloc(8)
  b.writeBigUInt64LE(BigInt(n))
  return b
}
const attr = (type: number, value: Uint8Array): RawAttribute => ({ type, value })

// Versions 1 and 2 only: the installed progs (6.2) refuses version 3 streams outright.
function streamOf(version: 1 | 2, middle: (enc: StreamEncoder) => Buffer[]): Buffer {
  const enc = new StreamEncoder({ version })
  return Buffer.concat([
    enc.header(),
    enc.encode({ type: 'subvol', path: s('sv'), uuid: Buffer.alloc(16, 1), ctransid: 7n }),
    enc.encode({ type: 'mkfile', path: s('a'), ino: 257n }),
    ...middle(enc),
    enc.encode({ type: 'rename', path: s('a'), pathTo: s('b') }),
    enc.encode({ type: 'end' }),
  ])
}

const CASES: [string, Buffer][] = [
  ['unknown command 99 with a valid TLV', streamOf(1, (e) => [e.raw(99, [attr(ATTR.PATH, s('x'))])])],
  ['command 0 (UNSPEC)', streamOf(1, (e) => [e.raw(0, [])])],
  ['unknown command 0xffff, v2', streamOf(2, (e) => [e.raw(0xffff, [attr(ATTR.PATH, s('x'))])])],
  ['attribute 36 in a known command', streamOf(1, (e) => [e.raw(CMD.UNLINK, [attr(ATTR.PATH, s('b')), attr(36, s('x'))])])],
  ['attribute 0 in a known command', streamOf(2, (e) => [e.raw(CMD.UNLINK, [attr(0, s('x')), attr(ATTR.PATH, s('b'))])])],
  ['attribute 816 (a vendor extension) in an unknown command', streamOf(1, (e) => [e.raw(99, [attr(816, s('syno'))])])],
  ['a truncated TLV in an unknown command', streamOf(1, (e) => [e.raw(99, [], { payload: Buffer.from([ATTR.PATH, 0, 9, 0, 0x61]) })])],
  ['attribute of version 3 in a v1 stream', streamOf(1, (e) => [e.raw(CMD.TRUNCATE, [attr(ATTR.PATH, s('a')), attr(ATTR.SIZE, u64(1)), attr(ATTR.VERITY_ALGORITHM, Buffer.from([1]))])])],
]

function progsDump(bytes: Buffer): { ok: boolean; lines: string[]; stderr: string } {
  const r = spawnSync('btrfs', ['receive', '--dump'], { input: bytes, env: { ...process.env, TZ: 'UTC' } })
  const out = r.stdout.toString()
  return { ok: r.status === 0, lines: out === '' ? [] : out.replace(/\n$/, '').split('\n'), stderr: r.stderr.toString() }
}

async function ourDump(bytes: Buffer): Promise<{ ok: boolean; lines: string[]; error?: unknown }> {
  const lines: string[] = []
  try {
    for await (const line of dump([bytes], { timeZone: 'UTC' })) lines.push(line)
    return { ok: true, lines }
  } catch (error) {
    return { ok: false, lines, error }
  }
}

describe('dump on bad input behaves as btrfs receive --dump', () => {
  test('the btrfs binary is installed (this machine and CI)', () => {
    expect(spawnSync('btrfs', ['--version']).status).toBe(0)
  })

  test.each(CASES)('%s', async (_name, bytes) => {
    const progs = progsDump(bytes)
    const ours = await ourDump(bytes)
    expect({ ok: ours.ok, lines: ours.lines }).toEqual({ ok: progs.ok, lines: progs.lines })
    if (!ours.ok) {
      expect(ours.error).toBeInstanceOf(BtrfsError)
      expect((ours.error as BtrfsError).code).toMatch(/^BTRFS_STREAM_(UNKNOWN|BAD)_ATTRIBUTE$/)
      // progs names the attribute number it refused; ours carries it too.
      const refused = /tlv_type = (\d+)/.exec(progs.stderr)
      if (refused) expect(ours.error).toMatchObject({ code: 'BTRFS_STREAM_UNKNOWN_ATTRIBUTE', attribute: Number(refused[1]) })
    }
  })

  test('the unknown-command cases really are skipped by progs (the comparison is not vacuous)', () => {
    expect(progsDump(CASES[0][1])).toMatchObject({ ok: true })
    expect(progsDump(CASES[3][1])).toMatchObject({ ok: false })
  })
})

describeBtrfs('receive refuses an unknown command that dump skips', { size: '256M' }, (fs) => {
  test('the stream progs dumps without error fails in receive() at the unknown command, leaving no subvolume', async () => {
    const bytes = CASES[0][1]
    expect(progsDump(bytes).ok).toBe(true)
    const dest = path.join(fs().mnt, 'dest')
    mkdirSync(dest)
    const err = await receive([bytes], dest).then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(BtrfsError)
    expect(err).toMatchObject({ code: 'BTRFS_STREAM_UNKNOWN_COMMAND', commandType: 99, commandIndex: 2 })
    expect(readdirSync(dest)).toEqual([])
  })

  test('a skipped attribute reaches onWarning with a registered code, and the stream is received', async () => {
    const dest = path.join(fs().mnt, 'warned')
    mkdirSync(dest)
    const warnings: { code: string }[] = []
    await receive([CASES[7][1]], dest, { onWarning: (w) => warnings.push(w) })
    expect(warnings.map((w) => w.code)).toEqual(['BTRFS_STREAM_ATTRIBUTE_NOT_IN_VERSION'])
    for (const w of warnings) expect(Object.keys(WARNING_CODES)).toContain(w.code)
    expect(readdirSync(path.join(dest, 'sv'))).toEqual(['b'])
  })
})
