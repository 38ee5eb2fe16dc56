#!/usr/bin/env node
// Upload speed and memory: our upload() (btrfs-stream/s3) against @aws-sdk/lib-storage's Upload,
// same local S3-compatible server (s3rver, a child process, data on disk), same run, alternating.
// Needs root (uses dist/, so run `npm run build` first). Workloads, made as in bench/receive.js
// and sent once with btrfs send into /dev/shm: a 1 GiB random file, and 100,000 small files.
// Each upload is a child process reading the stream file, timed with /usr/bin/time (wall time,
// peak RSS); the server's own time is in the wall time, its memory is not in the RSS. Cases:
// ours with its defaults (8 MiB first part, growing; 4 in flight) and with 64 MiB parts, and
// lib-storage with its defaults (5 MiB parts, queue 4) and with 64 MiB parts. Prints medians
// and the ratios ours / lib-storage (target: throughput >= 1, i.e. wall ratio <= 1, and RSS
// ratio <= 1 at the same part size). Mounts, loop devices and the server are removed at the end.
// Usage: node bench/s3.js [--runs N] [--small N] [--big-mib N] [--streams DIR]
//        (internal: node bench/s3.js --child MODE FILE PORT KEY)
'use strict'
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const MiB = 1024 * 1024
const BUCKET = 'bench'
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }
const MODES = ['ours', 'lib-storage', 'ours-64MiB', 'lib-storage-64MiB']
// Shared with bench/receive.js (which runs nothing when required).
const { arg, median, sh, writeSmallFiles, writeBig } = require('./receive.js')

function client(port) {
  const { S3Client } = require('@aws-sdk/client-s3')
  return new S3Client({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', forcePathStyle: true, credentials: CREDENTIALS })
}

/** One upload, in the child process that is measured. */
async function child(mode, file, port, key) {
  const c = client(Number(port))
  const body = fs.createReadStream(file, { highWaterMark: MiB })
  if (mode.startsWith('ours')) {
    const { upload } = require('../dist/s3/index.js')
    await upload(body, { client: c, bucket: BUCKET, key, partSize: mode === 'ours-64MiB' ? 64 * MiB : undefined })
  } else {
    const { Upload } = require('@aws-sdk/lib-storage')
    const params = { Bucket: BUCKET, Key: key, Body: body }
    await new Upload({ client: c, params, ...(mode === 'lib-storage-64MiB' ? { partSize: 64 * MiB } : {}) }).done()
  }
  c.destroy()
}

/** Runs one upload child under /usr/bin/time; returns { s, rssMiB }. */
function timed(mode, file, port, key) {
  const { nodeEnv } = require('./node-env.js')
  const argv = [process.execPath, __filename, '--child', mode, file, String(port), key]
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', ...argv], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], env: { ...nodeEnv(), NODE_NO_WARNINGS: '1' } })
  const lines = r.stderr.trim().split('\n')
  const m = /^([\d.]+) (\d+)$/.exec(lines[lines.length - 1])
  if (r.status !== 0 || !m) throw new Error(`${mode} upload failed:\n${r.stderr}`)
  return { s: Number(m[1]), rssMiB: Number(m[2]) / 1024 }
}

/** The two streams, made with btrfs send from a loop btrfs (pushed on `made`). */
function buildStreams(dir, streams, small, bigMiB, made) {
  const { createLoopBtrfs } = require('../scripts/loop-btrfs.js')
  fs.mkdirSync(dir, { recursive: true })
  const src = createLoopBtrfs({ size: `${Math.ceil((bigMiB * 1.5 + 2048) / 1024)}G` })
  made.push(src)
  console.error('bench/s3: building sources…')
  for (const [name, fill] of [['big-file', (d) => writeBig(path.join(d, 'random.bin'), bigMiB, false)], ['small-files', (d) => writeSmallFiles(d, small)]]) {
    const sub = path.join(src.mnt, name)
    sh('btrfs', ['subvolume', 'create', sub])
    fill(sub)
    sh('btrfs', ['subvolume', 'snapshot', '-r', sub, `${sub}-ro`])
    sh('btrfs', ['send', '-q', '-f', streams[name], `${sub}-ro`])
  }
}

async function main() {
  const { unavailableReason, destroyLoopBtrfs } = require('../scripts/loop-btrfs.js')
  const { startS3rver, stopS3rver } = require('../scripts/s3rver.js')
  const { nodeEnvNote } = require('./node-env.js')
  const reason = unavailableReason()
  if (reason) {
    console.error(`bench/s3: cannot run: ${reason}`)
    process.exit(1)
  }
  const runs = Number(arg('--runs', '3'))
  const small = Number(arg('--small', '100000'))
  const bigMiB = Number(arg('--big-mib', '1024'))
  const keep = arg('--streams', undefined)
  const dir = keep ?? fs.mkdtempSync('/dev/shm/btrfs-stream-bench-s3-')
  const streams = { 'big-file': path.join(dir, `big-${bigMiB}.btrfs`), 'small-files': path.join(dir, `small-${small}.btrfs`) }
  const made = []
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'btrfs-stream-bench-s3rver-'))
  let server
  try {
    if (!Object.values(streams).every((f) => fs.existsSync(f))) buildStreams(dir, streams, small, bigMiB, made)
    for (const f of made.splice(0)) destroyLoopBtrfs(f)
    server = await startS3rver(data, [BUCKET])
    const { DeleteObjectCommand } = require('@aws-sdk/client-s3')
    const admin = client(server.port)
    const results = []
    for (const [name, file] of Object.entries(streams)) {
      const size = fs.statSync(file).size
      const t = Object.fromEntries(MODES.map((m) => [m, []]))
      const rss = Object.fromEntries(MODES.map((m) => [m, []]))
      for (let r = 0; r < runs; r++) {
        // Alternating, and the order rotates each run so no mode always goes first.
        for (let k = 0; k < MODES.length; k++) {
          const mode = MODES[(k + r) % MODES.length]
          const key = `${name}-${mode}-${r}`
          const m = timed(mode, file, server.port, key)
          t[mode].push(m.s)
          rss[mode].push(m.rssMiB)
          // Keep the server's disk use to one object at a time.
          await admin.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }))
          await admin.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `${key}.manifest.json` }))
          console.error(`bench/s3: ${name} ${mode} run ${r + 1}: ${m.s.toFixed(2)} s, ${m.rssMiB.toFixed(0)} MiB`)
        }
      }
      for (const mode of MODES) results.push({ name, size, mode, s: median(t[mode]), rssMiB: Math.max(...rss[mode]) })
    }
    admin.destroy()
    const row = (name, mode) => results.find((r) => r.name === name && r.mode === mode)
    console.log('case          mode                  stream MiB   wall s    MiB/s   peak RSS MiB')
    for (const r of results) {
      console.log(`${r.name.padEnd(13)} ${r.mode.padEnd(20)} ${(r.size / MiB).toFixed(1).padStart(11)} ${r.s.toFixed(2).padStart(8)} ${(r.size / MiB / r.s).toFixed(1).padStart(8)} ${r.rssMiB.toFixed(0).padStart(14)}`)
    }
    console.log('ratios ours / lib-storage (wall <= 1 means at least its throughput; RSS <= 1 means no more memory):')
    for (const name of Object.keys(streams)) {
      for (const [ours, theirs] of [['ours', 'lib-storage'], ['ours-64MiB', 'lib-storage-64MiB']]) {
        const a = row(name, ours)
        const b = row(name, theirs)
        console.log(`  ${name.padEnd(13)} ${ours.padEnd(11)} vs ${theirs.padEnd(18)} wall ${(a.s / b.s).toFixed(2)}  RSS ${(a.rssMiB / b.rssMiB).toFixed(2)}`)
      }
    }
    console.log(`runs: ${runs} per mode (median wall, max RSS); server: s3rver on 127.0.0.1, data in ${os.tmpdir()}; source: the stream file read from /dev/shm`)
    if (nodeEnvNote()) console.log(nodeEnvNote())
  } finally {
    await stopS3rver(server)
    fs.rmSync(data, { recursive: true, force: true })
    for (const f of made.reverse()) destroyLoopBtrfs(f)
    if (!keep) fs.rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[2] === '--child') {
  const [, , , mode, file, port, key] = process.argv
  child(mode, file, port, key).catch((err) => {
    console.error(err)
    process.exit(1)
  })
} else if (require.main === module) {
  main().catch((err) => {
    console.error(`bench/s3: ${err.stack}`)
    process.exitCode = 1
  })
}
