// The `btrfs-stream send` and `subvolume` CLIs as users run them (the built dist/cli/main.js;
// npm test builds first), against btrfs-progs: the same stream bytes and the same stderr for
// every flag, the terminal refusal, the progress bar on a terminal, and subvolume output.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { describeBtrfs, sh } from '../support/btrfs.js'
import { btrfsSend, makeSnapshots, type Snapshots } from './fixtures.js'

const CLI = path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js')

interface Run {
  status: number | null
  stdout: Buffer
  stderr: string
}

function run(cmd: string, args: string[], cwd: string): Run {
  const r = spawnSync(cmd, args, { cwd, maxBuffer: 1 << 30 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() }
}

/** Runs a shell command line with a terminal as stdin/stdout/stderr (script(1)); returns its output. */
function onTerminal(line: string, cwd: string): Run {
  const r = spawnSync('script', ['-qec', line, '/dev/null'], { cwd, env: { ...process.env, COLUMNS: '120' } })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() }
}

describeBtrfs('btrfs-stream send and subvolume CLIs', { size: '1G' }, (fs) => {
  let s: Snapshots
  let c1: string
  beforeAll(() => {
    s = makeSnapshots(fs().mnt)
    const csrc = path.join(fs().mnt, 'csrc')
    sh('btrfs', ['subvolume', 'create', csrc])
    sh('btrfs', ['property', 'set', csrc, 'compression', 'zstd'])
    writeFileSync(path.join(csrc, 'text'), 'compressible line\n'.repeat(100_000))
    c1 = path.join(fs().mnt, 'c1')
    sh('btrfs', ['subvolume', 'snapshot', '-r', csrc, c1])
  })
  const rel = (p: string) => path.relative(fs().mnt, p)

  const cases: Array<[string, () => string[]]> = [
    ['full', () => [rel(s.snap1)]],
    ['incremental -p', () => ['-p', rel(s.snap1), rel(s.snap2)]],
    ['clone source -c (automatic parent), two subvolumes', () => ['-c', rel(s.snap1), rel(s.snap2), rel(s.snap3)]],
    ['-e with a parent, three subvolumes', () => ['-e', '-p', rel(s.snap1), rel(s.snap1), rel(s.snap2), rel(s.snap3)]],
    ['--proto 2 --compressed-data', () => ['--proto', '2', '--compressed-data', rel(c1)]],
    ['--no-data', () => ['--no-data', '-p', rel(s.snap2), rel(s.snap3)]],
    ['--proto 0 (latest), -v', () => ['--proto', '0', '-v', rel(s.snap1)]],
  ]

  test.each(cases)('%s: stdout bytes and stderr equal btrfs send', (_name, make) => {
    const args = make()
    const ours = run(CLI, ['send', ...args], fs().mnt)
    const theirs = run('btrfs', ['send', ...args], fs().mnt)
    expect(theirs.status).toBe(0)
    expect(ours.status).toBe(0)
    expect(ours.stdout.length).toBeGreaterThan(17)
    expect(ours.stdout.equals(theirs.stdout)).toBe(true)
    // -v: btrfs-progs adds lines about its own ioctl; the At subvol lines must match.
    const atLines = (t: string) => t.split('\n').filter((l) => l.startsWith('At subvol'))
    if (args.includes('-v')) expect(atLines(ours.stderr)).toEqual(atLines(theirs.stderr))
    else expect(ours.stderr).toBe(theirs.stderr)
  })

  test('-f FILE (and -q): the file equals btrfs send -f; nothing on stderr', () => {
    const [a, b] = [path.join(fs().dir, 'ours.stream'), path.join(fs().dir, 'theirs.stream')]
    const ours = run(CLI, ['send', '-q', '-p', rel(s.snap1), '-f', a, rel(s.snap2)], fs().mnt)
    expect(ours).toMatchObject({ status: 0, stderr: '' })
    sh('btrfs', ['send', '-q', '-p', s.snap1, '-f', b, s.snap2])
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true)
  })

  test('stdout on a terminal is refused as btrfs send refuses it', () => {
    const ours = onTerminal(`${CLI} send ${rel(s.snap1)}`, fs().mnt)
    const theirs = onTerminal(`btrfs send ${rel(s.snap1)}`, fs().mnt)
    expect(theirs.status).toBe(1)
    expect(ours.status).toBe(1)
    expect(ours.stdout.toString().trim()).toBe(theirs.stdout.toString().trim())
    expect(ours.stdout.toString()).toContain('not dumping send stream into a terminal')
  })

  test('on a terminal stderr: At subvol and a progress bar with bytes, rate, percent and ETA', () => {
    const out = path.join(fs().dir, 'bar.stream')
    const r = onTerminal(`${CLI} send -f ${out} ${rel(s.snap1)} ${rel(s.snap2)}`, fs().mnt)
    expect(r.status).toBe(0)
    const text = r.stdout.toString()
    expect(text).toContain(`At subvol ${rel(s.snap1)}`)
    expect(text).toContain(`At subvol ${rel(s.snap2)}`)
    // The last drawn line: bar, percent, bytes of total, rate, ETA (the final one is 100%).
    expect(text).toMatch(/\[#{20}\] 100% [\d.]+ (B|KiB|MiB) of [\d.]+ (B|KiB|MiB) at [\d.]+ (B|KiB|MiB|GiB)\/s, ETA 0:00/)
    expect(readFileSync(out).equals(btrfsSend(fs().dir, [s.snap1, s.snap2]))).toBe(true)
  })

  test('a failed send: btrfs-style ERROR, exit 1, no partial output file left', () => {
    const out = path.join(fs().dir, 'failed.stream')
    const r = run(CLI, ['send', '-f', out, rel(s.src)], fs().mnt)
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/^ERROR: .*not read-only/m)
    expect(existsSync(out)).toBe(false)
    const usage = run(CLI, ['send'], fs().mnt)
    expect(usage.status).toBe(1)
    expect(usage.stderr).toMatch(/^ERROR: send needs path to snapshot/)
  })

  test('subvolume create, snapshot -r, show, list --json, delete', () => {
    const a = path.join(fs().mnt, 'cli-a')
    const b = path.join(fs().mnt, 'cli-b')
    expect(run(CLI, ['subvolume', 'create', a], fs().mnt)).toMatchObject({ status: 0, stderr: '' })
    writeFileSync(path.join(a, 'f'), 'x')
    expect(run(CLI, ['subvolume', 'snapshot', '-r', a, b], fs().mnt).stdout.toString()).toBe(`Create a readonly snapshot of '${a}' in '${b}'\n`)
    const theirs = sh('btrfs', ['subvolume', 'show', b])
    const ours = run(CLI, ['subvolume', 'show', b], fs().mnt).stdout.toString()
    const field = (text: string, name: string) => new RegExp(`^\\s*${name}:\\s*(.*)$`, 'm').exec(text)?.[1].trim()
    for (const name of ['Name', 'UUID', 'Parent UUID', 'Received UUID', 'Subvolume ID', 'Generation', 'Gen at creation', 'Parent ID', 'Flags', 'Creation time']) {
      expect([name, field(ours, name)]).toEqual([name, field(theirs, name)])
    }
    const json = JSON.parse(run(CLI, ['subvolume', 'show', '--json', b], fs().mnt).stdout.toString())
    expect(json).toMatchObject({ name: 'cli-b', readOnly: true, id: field(theirs, 'Subvolume ID'), uuid: field(theirs, 'UUID') })
    const listed = JSON.parse(run(CLI, ['subvolume', 'list', '--json', fs().mnt], fs().mnt).stdout.toString()) as Array<{ id: string; topLevelPath: string }>
    const progs = sh('btrfs', ['subvolume', 'list', fs().mnt]).trim().split('\n').map((l) => /^ID (\d+) .* path (.*)$/.exec(l)!.slice(1))
    expect(listed.map((e) => [e.id, e.topLevelPath]).sort()).toEqual(progs.sort())
    const plain = run(CLI, ['subvolume', 'list', fs().mnt], fs().mnt).stdout.toString().trim().split('\n')
    expect(plain.sort()).toEqual(sh('btrfs', ['subvolume', 'list', fs().mnt]).trim().split('\n').sort())
    expect(run(CLI, ['subvolume', 'delete', b, a], fs().mnt).status).toBe(0)
    expect(existsSync(a) || existsSync(b)).toBe(false)
    expect(run(CLI, ['subvolume', 'show', a], fs().mnt)).toMatchObject({ status: 1 })
    rmSync(path.join(fs().dir, 'bar.stream'), { force: true })
  })
})
