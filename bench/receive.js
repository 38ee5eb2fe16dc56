#!/usr/bin/env node
// Receive speed against `btrfs receive -f`, same streams, same run (needs root; uses dist/, so
// run `npm run build` first): a 1 GiB file, 100,000 small files, an incremental of 30,000
// renames, changes and deletes on top of those, and a 1 GiB compressible file sent as v2 with
// compressed data from a compress=zstd source. Streams are made once with btrfs send into
// /dev/shm; each measurement is a child process (`btrfs receive` or our CLI) timed with
// /usr/bin/time for wall time and peak RSS, alternating tools, each into a fresh directory, with
// a sync (untimed) between runs. Prints medians and ratios (ours / btrfs receive; target wall
// <= 0.9, RSS <= 128 MiB). Every mount and loop device is removed at the end, also on failure.
// --streams DIR keeps the four streams in DIR and reuses them on the next run (building them
// takes minutes; they depend only on --small and --big-mib).
// Usage: node bench/receive.js [--runs N] [--small N] [--big-mib N] [--only NAME] [--streams DIR]
'use strict'
const { execFileSync, spawnSync } = require('node:child_process')
const crypto = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const { createLoopBtrfs, destroyLoopBtrfs, unavailableReason } = require('../scripts/loop-btrfs.js')

const CLI = path.join(__dirname, '..', 'dist', 'cli', 'main.js')
const { nodeEnv, nodeEnvNote } = require('./node-env.js')

function arg(name, fallback) {
  const i = process.argv.indexOf(name)
  return i > 0 ? process.argv[i + 1] : fallback
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

function sh(cmd, args) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 })
}

/** Runs argv under /usr/bin/time; returns { s, rssMiB }. */
function timed(argv) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', ...argv], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], env: nodeEnv() })
  const lines = r.stderr.trim().split('\n')
  const m = /^([\d.]+) (\d+)$/.exec(lines[lines.length - 1])
  if (r.status !== 0 || !m) throw new Error(`${argv.join(' ')} failed:\n${r.stderr}`)
  return { s: Number(m[1]), rssMiB: Number(m[2]) / 1024 }
}

function writeSmallFiles(dir, n) {
  for (let d = 0; d * 1000 < n; d++) {
    const sub = path.join(dir, `d${d}`)
    fs.mkdirSync(sub, { recursive: true })
    for (let i = d * 1000; i < Math.min(n, (d + 1) * 1000); i++) fs.writeFileSync(path.join(sub, `f${i}`), `file ${i} ${'x'.repeat(i % 200)}\n`)
  }
}

function writeBig(file, mib, compressible) {
  const fd = fs.openSync(file, 'w')
  const words = ['btrfs', 'stream', 'receive', 'subvolume', 'snapshot', 'extent', 'inode', 'checksum']
  for (let i = 0; i < mib; i++) {
    let block
    if (compressible) {
      // Text-like data that zstd compresses about 3-4x, different in every MiB.
      const rnd = crypto.randomBytes(1 << 17)
      let s = ''
      for (let k = 0; s.length < 1 << 20; k++) s += `${words[rnd[k % rnd.length] & 7]} ${rnd[(k * 7) % rnd.length]} `
      block = Buffer.from(s.slice(0, 1 << 20))
    } else {
      block = crypto.randomBytes(1 << 20)
    }
    fs.writeSync(fd, block)
  }
  fs.closeSync(fd)
}

/** Makes the four streams with btrfs send from a compress=zstd loop btrfs (pushed on `made`). */
function buildStreams(shm, streams, small, bigMiB, made) {
  fs.mkdirSync(shm, { recursive: true })
  const src = createLoopBtrfs({ size: `${Math.ceil((bigMiB * 2.5 + 2048) / 1024)}G`, mountOptions: ['compress=zstd'] })
  made.push(src)
  const snap = (name, sub) => {
    const p = path.join(src.mnt, name)
    sh('btrfs', ['subvolume', 'snapshot', '-r', sub, p])
    return p
  }
  const send = (name, args) => {
    sh('btrfs', ['send', '-q', '-f', streams[name], ...args])
  }
  console.error('bench/receive: building sources…')
  const big = path.join(src.mnt, 'big')
  sh('btrfs', ['subvolume', 'create', big])
  writeBig(path.join(big, 'random.bin'), bigMiB, false)
  send('big-file', [snap('big-ro', big)])

  const many = path.join(src.mnt, 'many')
  sh('btrfs', ['subvolume', 'create', many])
  writeSmallFiles(many, small)
  const many0 = snap('many-ro', many)
  send('small-files', [many0])
  // 30,000 changes: a third renamed, a third appended to, a third deleted.
  const third = Math.floor(Math.min(30_000, small) / 3)
  for (let i = 0; i < third; i++) {
    const a = i * 3
    const dir = (k) => path.join(many, `d${Math.floor(k / 1000)}`)
    fs.renameSync(path.join(dir(a), `f${a}`), path.join(dir(a), `renamed${a}`))
    fs.appendFileSync(path.join(dir(a + 1), `f${a + 1}`), 'changed\n')
    fs.unlinkSync(path.join(dir(a + 2), `f${a + 2}`))
  }
  send('incremental', ['-p', many0, snap('many-ro2', many)])

  const zbig = path.join(src.mnt, 'zbig')
  sh('btrfs', ['subvolume', 'create', zbig])
  writeBig(path.join(zbig, 'text.bin'), bigMiB, true)
  sh('sync', ['-f', path.join(zbig, 'text.bin')])
  send('zstd-v2-compressed', ['--proto', '2', '--compressed-data', snap('zbig-ro', zbig)])
  sh('sync', [])
}

function main() {
  const reason = unavailableReason()
  if (reason) {
    console.error(`bench/receive: ${reason}`)
    process.exit(1)
  }
  if (!fs.existsSync(CLI)) {
    console.error('bench/receive: dist/ is missing: run `npm run build` first')
    process.exit(1)
  }
  const runs = Number(arg('--runs', 3))
  const small = Number(arg('--small', 100_000))
  const bigMiB = Number(arg('--big-mib', 1024))
  const only = arg('--only', undefined)
  const made = []
  const keep = arg('--streams', undefined)
  const shm = keep ?? fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'btrfs-stream-bench-'))
  const NAMES = ['big-file', 'small-files', 'incremental', 'zstd-v2-compressed']
  const streams = Object.fromEntries(NAMES.map((n) => [n, path.join(shm, `${n}.stream`)]))
  try {
    const dst = createLoopBtrfs({ size: `${Math.ceil(((bigMiB * 2 + 1024) * (runs * 2 + 1)) / 1024)}G` })
    made.push(dst)
    if (!NAMES.every((n) => fs.existsSync(streams[n]))) buildStreams(shm, streams, small, bigMiB, made)
    const cases = NAMES.filter((c) => !only || c === only)
    const results = []
    let n = 0
    for (const name of cases) {
      const size = fs.statSync(streams[name]).size
      const times = { progs: [], ours: [] }
      const rss = { progs: [], ours: [] }
      for (let r = 0; r < runs; r++) {
        for (const tool of r % 2 ? ['ours', 'progs'] : ['progs', 'ours']) {
          const dest = path.join(dst.mnt, `run${n++}`)
          fs.mkdirSync(dest)
          if (name === 'incremental') sh('btrfs', ['receive', '-q', '-f', streams['small-files'], dest])
          sh('sync', [])
          const argv = tool === 'progs'
            ? ['btrfs', 'receive', '-q', '-f', streams[name], dest]
            : [process.execPath, CLI, 'receive', '-q', '-f', streams[name], dest]
          const t = timed(argv)
          times[tool].push(t.s)
          rss[tool].push(t.rssMiB)
        }
      }
      const row = {
        case: name,
        streamMiB: (size / 1048576).toFixed(1),
        progsS: median(times.progs).toFixed(2),
        oursS: median(times.ours).toFixed(2),
        wallRatio: (median(times.ours) / median(times.progs)).toFixed(2),
        progsRssMiB: Math.max(...rss.progs).toFixed(0),
        oursRssMiB: Math.max(...rss.ours).toFixed(0),
      }
      results.push(row)
      console.error(`bench/receive: ${JSON.stringify(row)}`)
    }
    console.log('case                 stream MiB   btrfs s   ours s   ratio   btrfs RSS   ours RSS (MiB)')
    for (const r of results) {
      console.log(`${r.case.padEnd(20)} ${r.streamMiB.padStart(10)} ${r.progsS.padStart(9)} ${r.oursS.padStart(8)} ${r.wallRatio.padStart(7)} ${r.progsRssMiB.padStart(11)} ${r.oursRssMiB.padStart(10)}`)
    }
    console.log('targets: ratio <= 0.90 (ours / btrfs receive wall time), ours RSS <= 128 MiB')
    if (nodeEnvNote()) console.log(nodeEnvNote())
  } finally {
    for (const f of made.reverse()) {
      try {
        destroyLoopBtrfs(f)
      } catch (err) {
        console.error(`bench/receive: cleanup of ${f.mnt} failed: ${err.message}`)
      }
    }
    if (!keep) fs.rmSync(shm, { recursive: true, force: true })
  }
}

// bench/s3.js builds its sources with the same generators and helpers.
module.exports = { writeSmallFiles, writeBig, arg, median, sh }

if (require.main === module) main()
