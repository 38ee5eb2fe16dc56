// Back up to S3 and restore, end to end on loopback btrfs and a real S3-compatible server: the
// README's "Back up to S3" and "Restore" code and commands are run as written (paths moved onto
// the test's filesystems; the client set to path-style, which s3rver on 127.0.0.1 needs), and the
// restored snapshots must equal the source snapshots (tree digest) with the source uuids as
// received uuids. Also: a second restore receives nothing, a restore up to an older snapshot and
// then to the newest receives only the rest, a chain with a missing link fails naming its uuid.
import { execFile, execFileSync } from 'node:child_process'
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { send, subvolume } from '../../lib/index.js'
import { restore, upload } from '../../lib/s3/index.js'
import { describeBtrfs, sh } from '../support/btrfs.js'
import { digest, extraFilesystems } from '../receive/support/harness.js'
import { BUCKET, CREDENTIALS, localS3 } from './support/local-s3.js'

const root = path.resolve(__dirname, '../..')
const CLI = path.join(root, 'dist', 'cli', 'main.js')
const readme = readFileSync(path.join(root, 'README.md'), 'utf8')

/**
 * Runs a child without blocking: the fault proxy in this process must keep forwarding its
 * requests (a spawnSync here would deadlock).
 */
function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, encoding: 'utf8', maxBuffer: 1 << 26 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${[path.basename(file), ...args].join(' ')} failed (${String(err.code)}):\n${stderr}`))
      else resolve(stdout)
    })
  })
}

/** The fenced blocks of `lang` in the README section headed `## title`. */
function blocks(title: string, lang: string): string[] {
  const start = readme.indexOf(`\n## ${title}\n`)
  const end = readme.indexOf('\n## ', start + 4)
  const section = readme.slice(start, end)
  return [...section.matchAll(new RegExp('```' + lang + '(?: [^\\n]*)?\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1])
}

describeBtrfs('S3: back up and restore chains', { size: '1G' }, (fs) => {
  const s3 = localS3()
  const dests = extraFilesystems(3, { size: '512M' })
  let consumer: string
  let places: Record<string, string>

  const env = () => ({
    ...process.env,
    AWS_ENDPOINT_URL_S3: s3().proxy.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    BTRFS_STREAM_S3_FORCE_PATH_STYLE: '1',
    NODE_NO_WARNINGS: '1',
  })
  /** The README's paths, moved onto the test's filesystems (longest first). */
  const relocate = (text: string, extra: Record<string, string> = {}) => {
    const map: Record<string, string> = { ...places, ...extra }
    // One pass, longest first, so a replacement is never replaced again.
    const keys = Object.keys(map).sort((a, b) => b.length - a.length).map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    return text.replace(new RegExp(keys.join('|'), 'g'), (m) => map[m])
  }
  /** Runs a README TypeScript block as an ES module of a consumer that installed the package. */
  const runModule = async (code: string, extra: Record<string, string> = {}): Promise<string> => {
    const file = path.join(consumer, `block-${process.hrtime.bigint()}.mjs`)
    // s3rver on 127.0.0.1 has no virtual-host names: the README's client, made path-style.
    writeFileSync(file, relocate(code, extra).replace('new S3Client({})', 'new S3Client({ forcePathStyle: true })'))
    return run(process.execPath, [file], env())
  }
  /** Runs the `btrfs-stream …` lines of a README sh block with the built CLI. */
  const runCommands = async (script: string, extra: Record<string, string>): Promise<void> => {
    for (const raw of script.split('\n')) {
      const line = relocate(raw.replace(/\s+#.*$/, ''), extra).trim()
      if (!line.startsWith('btrfs-stream ')) continue
      await run(process.execPath, [CLI, ...line.split(/\s+/).slice(1)], env())
    }
  }
  const snap = (name: string) => path.join(fs().mnt, 'snaps', name)
  const expectRestored = (dir: string, name: string) => {
    expect(digest(path.join(dir, name), { rootMtime: false })).toBe(digest(snap(name), { rootMtime: false }))
    const mine = sh('btrfs', ['subvolume', 'show', path.join(dir, name)])
    const source = sh('btrfs', ['subvolume', 'show', snap(name)])
    const uuid = /^\s*UUID:\s*(\S+)/m.exec(source)![1]
    expect(/Received UUID:\s*(\S+)/.exec(mine)![1]).toBe(uuid)
  }

  beforeAll(async () => {
    consumer = mkdtempSync(path.join(os.tmpdir(), 'btrfs-stream-s3-consumer-'))
    mkdirSync(path.join(consumer, 'node_modules'))
    symlinkSync(root, path.join(consumer, 'node_modules/btrfs-stream'))
    symlinkSync(path.join(root, 'node_modules/@aws-sdk'), path.join(consumer, 'node_modules/@aws-sdk'))
    const mnt = fs().mnt
    places = { '/mnt/data': path.join(mnt, 'data'), '/mnt/snaps/': path.join(mnt, 'snaps') + '/' }
    mkdirSync(path.join(mnt, 'snaps'))
    await subvolume.create(path.join(mnt, 'data'))
    const data = path.join(mnt, 'data')
    for (let i = 0; i < 50; i++) writeFileSync(path.join(data, `f${i}`), `file ${i}\n`.repeat(i * 100))
    mkdirSync(path.join(data, 'dir'))
    writeFileSync(path.join(data, 'dir', 'big'), Buffer.alloc(3 << 20, 7))
    await subvolume.snapshot(data, snap('2024-06-01'), { readOnly: true })
    // What the incremental carries: a rename, an append, a delete, a new file.
    renameSync(path.join(data, 'f1'), path.join(data, 'renamed'))
    appendFileSync(path.join(data, 'f2'), 'more\n')
    unlinkSync(path.join(data, 'f3'))
    writeFileSync(path.join(data, 'dir', 'new'), 'new file\n')
  })
  afterAll(() => {
    if (consumer) rmSync(consumer, { recursive: true, force: true })
  })

  test('README "Back up to S3" code uploads a full and an incremental; README "Restore" code restores the chain', async () => {
    const [backup] = blocks('Back up to S3', 'ts')
    const out = await runModule(backup)
    expect(await s3().keys('host1/')).toEqual(['host1/2024-06-01.btrfs', 'host1/2024-06-01.btrfs.manifest.json', 'host1/2024-06-02.btrfs', 'host1/2024-06-02.btrfs.manifest.json'])
    const source1 = await subvolume.info(snap('2024-06-01'))
    expect(out.trim().split(' ')[2]).toBe(source1.uuid)

    const dest = path.join(dests()[0].mnt, 'restore')
    mkdirSync(dest)
    const [code] = blocks('Restore', 'ts')
    const printed = await runModule(code, { '/mnt/restore': dest })
    expect(printed).toContain('host1/2024-06-01.btrfs')
    expect(printed).toContain('restored 2024-06-02')
    expectRestored(dest, '2024-06-01')
    expectRestored(dest, '2024-06-02')

    // Everything is there already: nothing more is received.
    const again = await restore({ client: s3().client, bucket: BUCKET, prefix: 'host1/' }, dest)
    expect(again.received).toEqual([])
  })

  test('README commands: send -f s3:// uploads; restore and receive -f s3:// restore equal copies', async () => {
    const cli = { 's3://backups/host1/': 's3://backups/cli/' }
    // The README's code block makes this snapshot; when this test runs alone, make it here.
    if (!existsSync(snap('2024-06-02'))) await subvolume.snapshot(path.join(fs().mnt, 'data'), snap('2024-06-02'), { readOnly: true })
    await runCommands(blocks('Back up to S3', 'sh')[0], cli)
    expect(await s3().keys('cli/')).toHaveLength(4)
    const [one, two] = [path.join(dests()[1].mnt, 'restore'), path.join(dests()[2].mnt, 'restore2')]
    mkdirSync(one)
    mkdirSync(two)
    await runCommands(blocks('Restore', 'sh')[0], { ...cli, '/mnt/restore2': two, '/mnt/restore': one })
    expectRestored(one, '2024-06-01')
    expectRestored(one, '2024-06-02')
    expectRestored(two, '2024-06-01')
    expectRestored(two, '2024-06-02')
  })

  test('restore up to an older snapshot, then to the newest: the second receives only the incremental', async () => {
    const dest = path.join(dests()[0].mnt, 'stepwise')
    mkdirSync(dest)
    const location = { client: s3().client, bucket: BUCKET, prefix: 'host1/' }
    const first = await restore(location, dest, { to: (await subvolume.info(snap('2024-06-01'))).uuid })
    expect(first.received.map((r) => r.key)).toEqual(['host1/2024-06-01.btrfs'])
    const second = await restore(location, dest)
    expect(second.received.map((r) => r.key)).toEqual(['host1/2024-06-02.btrfs'])
    expectRestored(dest, '2024-06-02')
  })

  test('a chain with a missing link fails with BTRFS_S3_CHAIN_BROKEN naming the missing uuid, and receives nothing', async () => {
    const client = s3().client
    await upload(send(snap('2024-06-02'), { parent: snap('2024-06-01') }), { client, bucket: BUCKET, key: 'broken/2024-06-02.btrfs' })
    const dest = path.join(dests()[0].mnt, 'broken')
    mkdirSync(dest)
    const missing = (await subvolume.info(snap('2024-06-01'))).uuid
    const err = await restore({ client, bucket: BUCKET, prefix: 'broken/' }, dest).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'BTRFS_S3_CHAIN_BROKEN' })
    expect((err as Error).message).toContain(missing)
    expect(await subvolume.list(dest)).toEqual([])
    expect(execFileSync('ls', ['-A', dest], { encoding: 'utf8' })).toBe('')
  })

  test('a restore of a name no backup has fails with BTRFS_S3_BACKUP_NOT_FOUND', async () => {
    const dest = dests()[0].mnt
    await expect(restore({ client: s3().client, bucket: BUCKET, prefix: 'host1/' }, dest, { to: 'no-such-snapshot' }))
      .rejects.toMatchObject({ code: 'BTRFS_S3_BACKUP_NOT_FOUND' })
  })
})
