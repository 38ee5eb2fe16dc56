// The `btrfs-stream` CLI as users run it: the built dist/cli/main.js (npm test builds first),
// executed directly through its shebang, checked for output, exit codes and progs-style errors.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { dump } from '../../lib/dump/dump.js'
import type { CommandData } from '../../lib/stream/commands.js'
import { StreamEncoder } from '../../lib/stream/encoder.js'
import { FIXTURE_DIR, fixture } from '../stream/helpers.js'

const CLI = path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js')
const run = (args: string[], input?: Buffer): SpawnSyncReturns<string> =>
  spawnSync(CLI, args, { input, encoding: 'latin1', env: { ...process.env, TZ: 'UTC' } })

async function expected(name: string, format: 'text' | 'json' = 'text'): Promise<string> {
  let out = ''
  for await (const l of dump([fixture(name)], { format, timeZone: 'UTC' })) out += l + '\n'
  return out
}

describe('btrfs-stream dump', () => {
  test('the built entry point is executable and starts with a node shebang', () => {
    expect(fs.readFileSync(CLI, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true)
    expect(fs.statSync(CLI).mode & 0o111).toBe(0o111)
  })

  test('-f FILE prints every stream of the file', async () => {
    const r = run(['dump', '-f', path.join(FIXTURE_DIR, 'multi-plain-v1.bin')])
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    expect(r.stdout).toBe(await expected('multi-plain-v1.bin'))
    expect(r.stdout).toContain('./multi-b-snap')
  })

  test('stdin by default, --file= and -fFILE spellings', async () => {
    const want = await expected('full-v2.bin')
    expect(run(['dump'], fixture('full-v2.bin')).stdout).toBe(want)
    expect(run(['dump', '-'], fixture('full-v2.bin')).status).toBe(1)
    expect(run(['dump', '-f', '-'], fixture('full-v2.bin')).stdout).toBe(want)
    expect(run(['dump', `--file=${path.join(FIXTURE_DIR, 'full-v2.bin')}`]).stdout).toBe(want)
    expect(run(['dump', `-f${path.join(FIXTURE_DIR, 'full-v2.bin')}`]).stdout).toBe(want)
  })

  test('--json prints JSON Lines', async () => {
    const r = run(['dump', '--json', '-f', path.join(FIXTURE_DIR, 'compressed-v2.bin')])
    expect(r.status).toBe(0)
    expect(r.stdout).toBe(await expected('compressed-v2.bin', 'json'))
    for (const line of r.stdout.trim().split('\n')) expect(JSON.parse(line)).toHaveProperty('type')
  })

  test('a missing file: ERROR on stderr, exit 1', () => {
    const r = run(['dump', '-f', '/nonexistent/stream.bin'])
    expect(r.status).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe('ERROR: cannot open /nonexistent/stream.bin: No such file or directory\n')
  })

  test('a truncated stream prints what it could, then ERROR lines, exit 1', async () => {
    const bytes = fixture('incremental-v1.bin')
    const r = run(['dump'], bytes.subarray(0, 2000))
    expect(r.status).toBe(1)
    expect((await expected('incremental-v1.bin')).startsWith(r.stdout)).toBe(true)
    expect(r.stdout.length).toBeGreaterThan(0)
    expect(r.stderr).toMatch(/^ERROR: input ended inside a command .*\nERROR: failed to dump the send stream\n$/)
  })

  test('a corrupt stream reports the CRC mismatch; --no-verify-crc skips the check', () => {
    const bad = Buffer.from(fixture('multi-e-v2.bin'))
    bad[17 + 30] ^= 0x40
    const r = run(['dump'], bad)
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/^ERROR: crc32 mismatch in command/)
    expect(run(['dump', '--no-verify-crc'], bad).status).toBe(0)
  })

  test('empty input', () => {
    const r = run(['dump'], Buffer.alloc(0))
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/^ERROR: empty stream is not considered valid/)
  })

  test('a directory as input', () => {
    const r = run(['dump', '-f', os.tmpdir()])
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/^ERROR: cannot read .*: Is a directory\n/)
  })

  test('usage errors exit 1; --help exits 0', () => {
    expect(run(['dump', '--bogus'])).toMatchObject({ status: 1, stderr: expect.stringMatching(/^ERROR: unrecognized option '--bogus'/) })
    expect(run(['dump', '-f'])).toMatchObject({ status: 1, stderr: expect.stringMatching(/requires an argument/) })
    expect(run(['dump', '--help'])).toMatchObject({ status: 0, stdout: expect.stringMatching(/^usage: btrfs-stream dump/) })
    expect(run(['frobnicate'])).toMatchObject({ status: 1, stderr: expect.stringMatching(/^ERROR: unknown command 'frobnicate'/) })
    expect(run([])).toMatchObject({ status: 1, stderr: expect.stringMatching(/usage: btrfs-stream <command>/) })
    expect(run(['--help'])).toMatchObject({ status: 0, stdout: expect.stringMatching(/dump +print a send stream/) })
  })

  test('a slow reader: the dump waits for it as often as needed, without piling up listeners', () => {
    // 20,000 commands make about 1.5 MB of text: stdout fills its pipe dozens of times.
    const enc = new StreamEncoder({ version: 1 })
    const cmds: CommandData[] = [{ type: 'subvol', path: Buffer.from('slow'), uuid: Buffer.alloc(16, 1), ctransid: 7n }]
    for (let i = 0; i < 20000; i++) cmds.push({ type: 'mkfile', path: Buffer.from(`o${i}-7-0`), ino: BigInt(257 + i) })
    cmds.push({ type: 'end' })
    const file = path.join(os.tmpdir(), `btrfs-stream-slow-${process.pid}.bin`)
    fs.writeFileSync(file, enc.stream(cmds))
    try {
      const r = spawnSync('/bin/sh', ['-c', `"${CLI}" dump -f "${file}" | (sleep 0.3; wc -l)`], { encoding: 'latin1' })
      expect(r.stderr).toBe('')
      expect(r.status).toBe(0)
      // Every command but END has a line.
      expect(r.stdout.trim()).toBe(String(cmds.length - 1))
    } finally {
      fs.rmSync(file, { force: true })
    }
  })

  test('a reader that goes away (| head) ends the dump quietly', () => {
    const r = spawnSync('/bin/sh', ['-c', `"${CLI}" dump -f "${path.join(FIXTURE_DIR, 'full-v1.bin')}" | head -n 2`], { encoding: 'latin1' })
    expect(r.status).toBe(0)
    expect(r.stdout.split('\n')).toHaveLength(3)
    expect(r.stderr).toBe('')
  })
})
