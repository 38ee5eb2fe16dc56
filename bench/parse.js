#!/usr/bin/env node
// bench:parse (root): builds three streams from a loopback btrfs with the real `btrfs send`
// (100,000 small files; one 1 GiB file; ~1 GiB of compressible data sent --compressed-data),
// then times our parse (dist/, CRC on, every command consumed) against
// `btrfs receive --dump > /dev/null` on the same files in the same run. Prints progs time / our
// time (higher is better) and our peak RSS, measured in a child process. Always unmounts and
// detaches the loop device (scripts/loop-btrfs.js), and removes the stream files.
'use strict'
const { spawnSync, execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { createLoopBtrfs, destroyLoopBtrfs, unavailableReason } = require('../scripts/loop-btrfs.js')
const { nodeEnv, nodeEnvNote } = require('./node-env.js')

const root = path.join(__dirname, '..')
const RUNS = Number(process.env.BENCH_RUNS || 3)
const SMALL_FILES = Number(process.env.BENCH_SMALL_FILES || 100000)
const BIG_MIB = Number(process.env.BENCH_BIG_MIB || 1024)
const COMPRESSIBLE_MIB = Number(process.env.BENCH_COMPRESSIBLE_MIB || 1024)
// BENCH_STREAMS=dir reuses small.bin, big.bin, comp.bin made by an earlier run with BENCH_KEEP=1.
const REUSE = process.env.BENCH_STREAMS
const KEEP = process.env.BENCH_KEEP === '1'
/** Passes in the child that measures the steady state (the first one is not counted). */
const WARM_PASSES = 4

// The measured child: parse(path) with CRC, consume every command, report time and peak RSS.
// With argv[2] = N > 1 it parses the stream N times and also reports the fastest later pass: the
// first pass is what a program pays once per process (V8 runs the decoder cold: interpreted,
// then compiled as it warms), the later ones the steady state of a long-lived process that
// parses many streams.
const CHILD = `
const { parse } = require(${JSON.stringify(path.join(root, 'dist', 'index.js'))})
;(async () => {
  const pass = async () => {
    const t0 = process.hrtime.bigint()
    let commands = 0, bytes = 0
    for await (const c of parse(process.argv[1])) {
      commands++
      if (c.type === 'write' || c.type === 'encoded_write') bytes += c.data.length
    }
    return { commands, bytes, ms: Number(process.hrtime.bigint() - t0) / 1e6 }
  }
  const cold = await pass()
  let warmMs = cold.ms
  for (let i = 1; i < Number(process.argv[2]); i++) warmMs = Math.min(i === 1 ? Infinity : warmMs, (await pass()).ms)
  process.stdout.write(JSON.stringify({ ...cold, warmMs, maxRssKiB: process.resourceUsage().maxRSS }))
})().catch((e) => { console.error(e); process.exit(1) })
`

function sh(cmd, args, opts) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], ...opts })
}

function seconds(t0) {
  return Number(process.hrtime.bigint() - t0) / 1e9
}

function timeProgs(file) {
  const t0 = process.hrtime.bigint()
  const r = spawnSync('btrfs', ['receive', '--dump', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] })
  const s = seconds(t0)
  if (r.status !== 0) throw new Error(`btrfs receive --dump failed: ${r.stderr}`)
  return s
}

/** Our child's whole wall time, with one parse pass or two (see CHILD). */
function timeOurs(file, passes) {
  const t0 = process.hrtime.bigint()
  const r = spawnSync(process.execPath, ['-e', CHILD, file, String(passes)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: nodeEnv() })
  const s = seconds(t0)
  if (r.status !== 0) throw new Error(`parse failed: ${r.stderr}`)
  return { s, ...JSON.parse(r.stdout) }
}

/** Best wall time of a node child running `code` (the fixed cost in "process"). */
function startup(code) {
  let best = Infinity
  for (let i = 0; i < 5; i++) {
    const t0 = process.hrtime.bigint()
    spawnSync(process.execPath, ['-e', code], { env: nodeEnv() })
    best = Math.min(best, seconds(t0))
  }
  return best
}

function makeSmallFiles(dir, count) {
  const perDir = 1000
  for (let d = 0; d * perDir < count; d++) {
    const sub = path.join(dir, `d${d}`)
    fs.mkdirSync(sub)
    for (let i = d * perDir; i < Math.min(count, (d + 1) * perDir); i++) {
      fs.writeFileSync(path.join(sub, `file-${i}.txt`), `small file number ${i}\n`)
    }
  }
}

function writeFileMiB(file, mib, fill) {
  const fd = fs.openSync(file, 'w')
  const chunk = Buffer.alloc(1 << 20)
  try {
    for (let i = 0; i < mib; i++) {
      fill(chunk, i)
      fs.writeSync(fd, chunk)
    }
  } finally {
    fs.closeSync(fd)
  }
}

function main() {
  const why = REUSE ? undefined : unavailableReason()
  if (why) {
    console.error(`bench:parse: ${why}`)
    process.exit(1)
  }
  if (!fs.existsSync(path.join(root, 'dist', 'index.js'))) {
    console.error('bench:parse: run `npm run build` first')
    process.exit(1)
  }
  const out = REUSE || fs.mkdtempSync(path.join(os.tmpdir(), 'btrfs-stream-bench-parse-'))
  const streams = [
    { name: `${SMALL_FILES} small files (v2)`, file: path.join(out, 'small.bin'), args: ['--proto', '2'], snap: 'small-ro' },
    { name: `${BIG_MIB} MiB file (v1)`, file: path.join(out, 'big.bin'), args: ['--proto', '1'], snap: 'big-ro' },
    { name: `${COMPRESSIBLE_MIB} MiB compressible, --compressed-data (v2)`, file: path.join(out, 'comp.bin'), args: ['--proto', '2', '--compressed-data'], snap: 'comp-ro' },
  ]
  const removeOut = () => {
    if (!KEEP && !REUSE) fs.rmSync(out, { recursive: true, force: true })
  }
  // loop-btrfs.js tears the filesystem down on these signals and re-raises; the streams go too.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.once(sig, removeOut)
  try {
    if (!REUSE) makeStreams(streams)
    measure(streams)
  } finally {
    if (KEEP || REUSE) console.log(`streams kept in ${out}`)
    else removeOut()
  }
}

function makeStreams(streams) {
  let fsys
  try {
    const t0 = process.hrtime.bigint()
    fsys = createLoopBtrfs({ size: `${Math.ceil((BIG_MIB + COMPRESSIBLE_MIB) / 1024) + 4}G` })
    const mnt = fsys.mnt
    sh('btrfs', ['-q', 'subvolume', 'create', path.join(mnt, 'small')])
    makeSmallFiles(path.join(mnt, 'small'), SMALL_FILES)
    sh('btrfs', ['-q', 'subvolume', 'create', path.join(mnt, 'big')])
    writeFileMiB(path.join(mnt, 'big', 'big.bin'), BIG_MIB, (b) => require('node:crypto').randomFillSync(b))
    sh('mount', ['-o', 'remount,compress=zstd', mnt])
    sh('btrfs', ['-q', 'subvolume', 'create', path.join(mnt, 'comp')])
    const line = Buffer.from('compressible text for the zstd mount, line after line after line\n')
    writeFileMiB(path.join(mnt, 'comp', 'text.txt'), COMPRESSIBLE_MIB, (b, i) => {
      for (let p = 0; p < b.length; p += line.length) line.copy(b, p)
      b.write(`chunk ${i}`, 0)
    })
    sh('sync', [])
    for (const s of ['small', 'big', 'comp']) sh('btrfs', ['-q', 'subvolume', 'snapshot', '-r', path.join(mnt, s), path.join(mnt, `${s}-ro`)])
    for (const st of streams) sh('btrfs', ['-q', 'send', ...st.args, '-f', st.file, path.join(mnt, st.snap)])
    console.log(`setup: ${seconds(t0).toFixed(1)} s`)
  } finally {
    if (fsys) destroyLoopBtrfs(fsys)
  }
}

function measure(streams) {
  console.log(`kernel ${os.release()}, ${sh('btrfs', ['--version']).trim()}, node ${process.version}`)
  {
    const rows = []
    for (const st of streams) {
      const size = fs.statSync(st.file).size
      sh('cat', [st.file], { stdio: ['ignore', 'ignore', 'inherit'] })
      let progs = Infinity
      let ours = { s: Infinity, ms: Infinity }
      let warmMs = Infinity
      let rss = 0
      let warmRss = 0
      for (let i = 0; i < RUNS; i++) {
        progs = Math.min(progs, timeProgs(st.file))
        const o = timeOurs(st.file, 1)
        if (o.s < ours.s) ours = { ...o, ms: Math.min(o.ms, ours.ms) }
        else ours.ms = Math.min(o.ms, ours.ms)
        const w = timeOurs(st.file, WARM_PASSES)
        warmMs = Math.min(warmMs, w.warmMs)
        rss = Math.max(rss, o.maxRssKiB)
        warmRss = Math.max(warmRss, w.maxRssKiB)
      }
      rows.push({
        stream: st.name,
        'size MiB': (size / 2 ** 20).toFixed(1),
        commands: ours.commands,
        'progs s': progs.toFixed(3),
        'ours process s': ours.s.toFixed(3),
        'ratio process': (progs / ours.s).toFixed(2) + 'x',
        'ours parse s': (ours.ms / 1000).toFixed(3),
        'ratio parse': (progs / (ours.ms / 1000)).toFixed(2) + 'x',
        'ours warm s': (warmMs / 1000).toFixed(3),
        'ratio warm': (progs / (warmMs / 1000)).toFixed(2) + 'x',
        'peak RSS MiB': (rss / 1024).toFixed(1),
        'warm RSS MiB': (warmRss / 1024).toFixed(1),
      })
    }
    console.table(rows)
    const bare = startup('0')
    const loaded = startup(`require(${JSON.stringify(path.join(root, 'dist', 'index.js'))})`)
    console.log(
      [
        `best of ${RUNS} runs each; ratios are progs time / our time, higher is better; progs is always its whole process.`,
        `"process": our whole child process (an empty node process takes ${bare.toFixed(3)} s here, ` +
          `${loaded.toFixed(3)} s with the package loaded: the floor for any Node program).`,
        '"parse": the first parse() of the process (cold JIT), the cost to a program that parses one stream.',
        `"warm": the best of parse() passes 2 to ${WARM_PASSES} in one process, the steady state of a long-lived program.`,
        "RSS is the child's process.resourceUsage().maxRSS: one parse, and (warm) all passes of the warm child.",
        nodeEnvNote(),
      ].filter(Boolean).join('\n'),
    )
  }
}

main()
