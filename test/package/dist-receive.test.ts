// The shipped package, not the sources: a consumer process loads 'btrfs-stream' through the
// exports map (CommonJS and ESM), sends with the addon and receives on loopback btrfs. The
// worker thread that receive() starts is recorded as the package's own code starts it (the
// file it hands to worker_threads.Worker), so the test follows the package wherever it keeps
// its worker; it must be a file of dist/, not the sources' eval bootstrap. The results must
// equal the source subvolume and btrfs receive's copy of the same stream.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describeBtrfs, sh } from '../support/btrfs.js'
import { digest } from '../receive/support/harness.js'

const root = path.resolve(__dirname, '../..')

/**
 * Preloaded: wraps worker_threads.Worker to record what each new worker runs, printed at exit.
 * Workers inherit the preload, so it acts in the main thread only.
 */
const RECORD_WORKERS = `
const threads = require('node:worker_threads')
if (threads.isMainThread) {
const Original = threads.Worker
const started = []
threads.Worker = class extends Original {
  constructor(filename, options) {
    started.push({ filename: String(filename), eval: Boolean(options && options.eval) })
    super(filename, options)
  }
}
process.on('exit', () => process.stdout.write(JSON.stringify(started) + '\\n'))
}
`

const CONSUMERS = {
  cjs: {
    file: 'consumer.cjs',
    code: `
const { createReadStream } = require('node:fs')
const { pipeline } = require('node:stream/promises')
const { createWriteStream } = require('node:fs')
const { send, receive } = require('btrfs-stream')
const [snap, streamFile, dest] = process.argv.slice(2)
pipeline(send(snap), createWriteStream(streamFile))
  .then(() => receive(createReadStream(streamFile), dest))
  .then((r) => process.stdout.write(JSON.stringify(r.subvolumes.map((s) => s.path)) + '\\n'))
`,
  },
  esm: {
    file: 'consumer.mjs',
    code: `
import { createReadStream, createWriteStream } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { send, receive } from 'btrfs-stream'
const [snap, streamFile, dest] = process.argv.slice(2)
await pipeline(send(snap), createWriteStream(streamFile))
const r = await receive(createReadStream(streamFile), dest)
process.stdout.write(JSON.stringify(r.subvolumes.map((s) => s.path)) + '\\n')
`,
  },
}

describeBtrfs('the built package (dist/) sends and receives, CommonJS and ESM', { size: '1G' }, (fs) => {
  let consumer: string
  let snap: string
  beforeAll(() => {
    consumer = mkdtempSync(path.join(os.tmpdir(), 'btrfs-stream-dist-'))
    mkdirSync(path.join(consumer, 'node_modules'))
    symlinkSync(root, path.join(consumer, 'node_modules/btrfs-stream'))
    writeFileSync(path.join(consumer, 'record-workers.cjs'), RECORD_WORKERS)
    for (const c of Object.values(CONSUMERS)) writeFileSync(path.join(consumer, c.file), c.code)
    const src = path.join(fs().mnt, 'src')
    sh('btrfs', ['subvolume', 'create', src])
    for (let i = 0; i < 50; i++) writeFileSync(path.join(src, `f${i}`), Buffer.alloc(5000 * i, i))
    sh('ln', ['-s', 'f1', path.join(src, 'link')])
    snap = path.join(fs().mnt, 'snap')
    sh('btrfs', ['subvolume', 'snapshot', '-r', src, snap])
  })
  afterAll(() => rmSync(consumer, { recursive: true, force: true }))

  test.each(Object.keys(CONSUMERS) as (keyof typeof CONSUMERS)[])('%s: receive() runs the worker shipped in dist/', (kind) => {
    const dest = path.join(fs().mnt, `dest-${kind}`)
    const oracle = path.join(fs().mnt, `oracle-${kind}`)
    mkdirSync(dest)
    mkdirSync(oracle)
    const streamFile = path.join(fs().dir, `${kind}.stream`)
    const out = execFileSync(process.execPath, ['--require', './record-workers.cjs', CONSUMERS[kind].file, snap, streamFile, dest], { cwd: consumer, encoding: 'utf8' })
    const [received, workers] = out.trim().split('\n').map((l) => JSON.parse(l) as unknown)
    expect(received).toEqual([path.join(dest, 'snap')])
    expect(workers).toHaveLength(1)
    const [worker] = workers as { filename: string; eval: boolean }[]
    expect(worker.eval).toBe(false)
    expect(path.relative(path.join(root, 'dist'), worker.filename)).not.toMatch(/^\.\.|^\//)
    expect(existsSync(worker.filename)).toBe(true)
    sh('btrfs', ['receive', '-q', '-f', streamFile, oracle])
    expect(digest(path.join(dest, 'snap'))).toBe(digest(path.join(oracle, 'snap')))
    expect(digest(path.join(dest, 'snap'), { rootMtime: false })).toBe(digest(snap, { rootMtime: false }))
  })
})
