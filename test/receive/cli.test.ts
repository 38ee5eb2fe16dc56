// The `btrfs-stream receive` CLI (run in a child process, as users run it) and a receive killed
// with SIGKILL halfway: what a crash leaves is recognisable as incomplete by its name, and is
// neither read-only nor marked received.
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { RECEIVE_TEMP_PREFIX } from '../../lib/index.js'
import { describeBtrfs, sh } from '../support/btrfs.js'
import { digest, snapshotPair, streamOf, subvolumeShow } from './support/harness.js'

const CHILD = path.join(__dirname, 'support', 'ts-child.js')
const CLI = path.join(__dirname, 'support', 'cli-entry.ts')

function cli(args: string[], input?: Buffer): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, [CHILD, CLI, 'receive', ...args], { input, encoding: 'utf8', env: process.env })
  return { status: r.status, stderr: r.stderr, stdout: r.stdout }
}

describeBtrfs('receive: CLI and crash recovery', { size: '1G' }, (fs) => {
  let snap0: string
  let snap1: string
  let full: Buffer
  let inc: Buffer
  beforeAll(async () => {
    ;({ snap0, snap1, full, inc } = await snapshotPair(
      fs().mnt,
      (src) => {
        for (let i = 0; i < 200; i++) writeFileSync(path.join(src, `f${i}`), randomBytes(1000 + i))
      },
      (src) => writeFileSync(path.join(src, 'new'), 'new'),
    ))
  })

  test('receive -f FILE DEST, then an incremental from stdin', () => {
    const dest = path.join(fs().mnt, 'cli')
    mkdirSync(dest)
    const file = path.join(fs().dir, 'full.stream')
    writeFileSync(file, full)
    const a = cli(['-f', file, dest])
    expect(a.stderr).toBe('At subvol snap0\n')
    expect(a.status).toBe(0)
    const b = cli([dest], inc)
    expect(b.status).toBe(0)
    expect(b.stdout).toBe('At snapshot snap1\n')
    expect(digest(path.join(dest, 'snap1'), { rootMtime: false })).toBe(digest(snap1, { rootMtime: false }))
    expect(subvolumeShow(path.join(dest, 'snap1')).readOnly).toBe(true)
  })

  test('stdin is a pipe whose writer is late: the CLI waits instead of failing with EAGAIN', () => {
    const dest = path.join(fs().mnt, 'cli-late')
    mkdirSync(dest)
    const file = path.join(fs().dir, 'late.stream')
    writeFileSync(file, full)
    const cmd = `(sleep 0.5; cat '${file}') | '${process.execPath}' '${CHILD}' '${CLI}' receive '${dest}'`
    const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8', env: process.env })
    expect(r.stderr).toBe('At subvol snap0\n')
    expect(r.status).toBe(0)
    expect(readdirSync(dest)).toEqual(['snap0'])
  })

  test('-e stops at the first END even when other bytes follow', () => {
    const dest = path.join(fs().mnt, 'cli-e')
    mkdirSync(dest)
    const r = cli(['-e', dest], Buffer.concat([full, Buffer.from('not a stream at all')]))
    expect(r.stderr).toBe('At subvol snap0\n')
    expect(r.status).toBe(0)
    expect(readdirSync(dest)).toEqual(['snap0'])
  })

  test('errors: bad options, missing DEST, a failing stream (exit 1, ERROR: on stderr)', () => {
    expect(cli(['--bogus', '/tmp']).status).toBe(1)
    const missing = cli([])
    expect(missing.status).toBe(1)
    expect(missing.stderr).toMatch(/^ERROR: missing DEST/)
    const dest = path.join(fs().mnt, 'cli-fail')
    mkdirSync(dest)
    const r = cli(['-E', '1', dest], full.subarray(0, full.length - 100))
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/^ERROR: .*(truncat|ended)/i)
    expect(readdirSync(dest)).toEqual([])
  })

  test('after SIGKILL mid-receive, what is left is named as incomplete, writable and not received', async () => {
    const big = path.join(fs().mnt, 'big')
    sh('btrfs', ['subvolume', 'create', big])
    for (let i = 0; i < 6; i++) writeFileSync(path.join(big, `chunk${i}`), randomBytes(16 * 1024 * 1024))
    sh('btrfs', ['subvolume', 'snapshot', '-r', big, path.join(fs().mnt, 'big-ro')])
    const file = path.join(fs().dir, 'big.stream')
    writeFileSync(file, await streamOf(path.join(fs().mnt, 'big-ro')))
    const dest = path.join(fs().mnt, 'crash')
    mkdirSync(dest)
    const child = spawn(process.execPath, [CHILD, path.join(__dirname, 'support', 'crash-entry.ts'), file, dest], { stdio: ['ignore', 'pipe', 'inherit'] })
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        if (d.toString().includes('READY')) resolve()
        if (d.toString().includes('DONE')) reject(new Error('finished before it could be killed'))
      })
      child.on('exit', () => reject(new Error('child exited early')))
    })
    child.kill('SIGKILL')
    await new Promise((resolve) => child.once('exit', resolve))
    const left = readdirSync(dest)
    expect(left.length).toBe(1)
    expect(left[0].startsWith(RECEIVE_TEMP_PREFIX)).toBe(true)
    const show = subvolumeShow(path.join(dest, left[0]))
    expect(show.readOnly).toBe(false)
    expect(show.receivedUuid).toBe('-')
  })
})
