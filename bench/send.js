#!/usr/bin/env node
// Send throughput against `btrfs send -f`, same snapshots, same run (needs root): a 1 GiB file
// and 100,000 small files, full sends to a file. Ours runs in a child process per measurement, as
// send() piped to a file and as the direct-fd form; each child reports its wall time and peak
// RSS. Runs alternate with btrfs send on a warm page cache; the median of each is compared.
// Prints throughput ratios (ours / btrfs send, higher is better; target >= 0.95) and peak RSS
// (target <= 100 MiB). Usage: node bench/send.js [--runs N] [--small N] [--big-mib N]
'use strict'
const { execFileSync, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

if (process.argv[2] === '--child') {
  child(process.argv[3], process.argv[4], process.argv[5]).catch((err) => {
    process.stderr.write(String(err && err.stack ? err.stack : err))
    process.exit(1)
  })
} else {
  main()
}

async function child(mode, snap, outFile) {
  const { send, sendToFd } = require('../dist/index.js')
  const { pipeline } = require('node:stream/promises')
  const t0 = process.hrtime.bigint()
  let bytes
  if (mode === 'stream') {
    const stream = send(snap)
    await pipeline(stream, fs.createWriteStream(outFile))
    bytes = stream.bytesRead
  } else {
    const fh = await fs.promises.open(outFile, 'w')
    bytes = await sendToFd(snap, fh)
    await fh.close()
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  process.stdout.write(JSON.stringify({ ms, bytes, maxRssKiB: process.resourceUsage().maxRSS }))
}

function arg(name, fallback) {
  const i = process.argv.indexOf(name)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

function main() {
  const { createLoopBtrfs, destroyLoopBtrfs, unavailableReason } = require('../scripts/loop-btrfs.js')
  const reason = unavailableReason()
  if (reason) {
    console.error(`bench/send: ${reason}`)
    process.exit(1)
  }
  const runs = arg('--runs', 5)
  const small = arg('--small', 100_000)
  const bigMiB = arg('--big-mib', 1024)
  const fsys = createLoopBtrfs({ size: `${Math.max(4, Math.ceil((bigMiB * 1.3 + 1024) / 1024))}G` })
  const outDir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'btrfs-stream-bench-'))
  try {
    const sets = []
    const big = path.join(fsys.mnt, 'big')
    execFileSync('btrfs', ['subvolume', 'create', big])
    execFileSync('dd', ['if=/dev/urandom', `of=${big}/file`, 'bs=1M', `count=${bigMiB}`, 'status=none'])
    execFileSync('btrfs', ['subvolume', 'snapshot', '-r', big, `${big}-ro`])
    sets.push({ name: `one ${bigMiB} MiB file`, snap: `${big}-ro` })

    const many = path.join(fsys.mnt, 'many')
    execFileSync('btrfs', ['subvolume', 'create', many])
    for (let d = 0; d < Math.ceil(small / 1000); d++) {
      const dir = path.join(many, `d${d}`)
      fs.mkdirSync(dir)
      for (let i = 0; i < 1000 && d * 1000 + i < small; i++) fs.writeFileSync(path.join(dir, `f${i}`), `small file ${d}/${i}\n`)
    }
    execFileSync('btrfs', ['subvolume', 'snapshot', '-r', many, `${many}-ro`])
    sets.push({ name: `${small} small files`, snap: `${many}-ro` })
    execFileSync('sync')

    const out = path.join(outDir, 'out.stream')
    // Every measurement starts alike: no output file, no dirty pages left by the previous one.
    const fresh = () => {
      fs.rmSync(out, { force: true })
      execFileSync('sync')
    }
    const progs = (snap) => {
      fresh()
      const t0 = process.hrtime.bigint()
      execFileSync('btrfs', ['send', '-q', '-f', out, snap])
      const ms = Number(process.hrtime.bigint() - t0) / 1e6
      return { ms, bytes: fs.statSync(out).size }
    }
    const ours = (mode, snap) => {
      fresh()
      const r = spawnSync(process.execPath, [__filename, '--child', mode, snap, out], { encoding: 'utf8' })
      if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`)
      return JSON.parse(r.stdout)
    }

    console.log(`bench/send: ${runs} runs each, warm cache, median; throughput ratio = ours / btrfs send (target >= 0.95), peak RSS target <= 100 MiB`)
    let worstRatio = Infinity
    let worstRss = 0
    for (const set of sets) {
      progs(set.snap) // warm the page cache and the trees
      const t = { progs: [], stream: [], direct: [] }
      let bytes = 0
      let rss = { stream: 0, direct: 0 }
      for (let i = 0; i < runs; i++) {
        const p = progs(set.snap)
        t.progs.push(p.ms)
        bytes = p.bytes
        for (const mode of ['stream', 'direct']) {
          const r = ours(mode, set.snap)
          if (r.bytes !== bytes) throw new Error(`${mode}: ${r.bytes} bytes, btrfs send wrote ${bytes}`)
          t[mode].push(r.ms)
          rss[mode] = Math.max(rss[mode], r.maxRssKiB / 1024)
        }
        fs.rmSync(out, { force: true })
      }
      const mb = bytes / 1048576
      const p = median(t.progs)
      console.log(`\n${set.name}: ${mb.toFixed(1)} MiB stream`)
      console.log(`  btrfs send -f         ${p.toFixed(0).padStart(7)} ms  ${(mb / (p / 1000)).toFixed(0).padStart(6)} MiB/s`)
      for (const mode of ['stream', 'direct']) {
        const m = median(t[mode])
        const ratio = p / m
        worstRatio = Math.min(worstRatio, ratio)
        worstRss = Math.max(worstRss, rss[mode])
        const label = mode === 'stream' ? 'send() | file' : 'sendToFd(file)'
        console.log(`  ${label.padEnd(20)}  ${m.toFixed(0).padStart(7)} ms  ${(mb / (m / 1000)).toFixed(0).padStart(6)} MiB/s  ratio ${ratio.toFixed(2)}x  peak RSS ${rss[mode].toFixed(0)} MiB`)
      }
    }
    console.log(`\nworst throughput ratio ${worstRatio.toFixed(2)}x (target >= 0.95): ${worstRatio >= 0.95 ? 'met' : 'MISSED'}`)
    console.log(`worst peak RSS ${worstRss.toFixed(0)} MiB (target <= 100): ${worstRss <= 100 ? 'met' : 'MISSED'}`)
  } finally {
    fs.rmSync(outDir, { recursive: true, force: true })
    destroyLoopBtrfs(fsys)
  }
}
