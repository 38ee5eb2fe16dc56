#!/usr/bin/env node
// The quick-start demo (npm run demo, as root): makes a loopback btrfs image, creates a subvolume
// with files, snapshots it twice, sends a full and an incremental stream to files with send(),
// summarises them with parse(), receives them with `btrfs receive` and with our receive(),
// checks both results against the source, and prints what it did.
// Everything it mounts is unmounted and detached at the end, also on failure.
'use strict'
const { createWriteStream, mkdirSync, writeFileSync, appendFileSync, renameSync, statSync, readFileSync, createReadStream } = require('node:fs')
const path = require('node:path')
const { pipeline } = require('node:stream/promises')
const { execFileSync } = require('node:child_process')
const { createLoopBtrfs, destroyLoopBtrfs, unavailableReason } = require('./loop-btrfs.js')
const { send, subvolume, parse, receive } = require('../dist/index.js')

const out = path.resolve(process.argv[2] || 'demo-output')

function say(text) {
  process.stdout.write(`${text}\n`)
}

async function summarize(file) {
  const counts = new Map()
  for await (const cmd of parse(createReadStream(file))) counts.set(cmd.type, (counts.get(cmd.type) || 0) + 1)
  return [...counts].map(([type, n]) => `${type}×${n}`).join(' ')
}

function sameTree(a, b) {
  const list = (root) => execFileSync('find', ['.', '-printf', '%y %m %s %p\n'], { cwd: root, encoding: 'utf8' }).split('\n').sort().join('\n')
  if (list(a) !== list(b)) return false
  for (const line of list(a).split('\n')) {
    const [type, , , p] = line.split(' ')
    if (type === 'f' && !readFileSync(path.join(a, p)).equals(readFileSync(path.join(b, p)))) return false
  }
  return true
}

async function main() {
  const reason = unavailableReason()
  if (reason) throw new Error(`the demo ${reason}`)
  mkdirSync(out, { recursive: true })
  const fsys = createLoopBtrfs({ size: '512M' })
  try {
    say(`1. made a 512 MiB btrfs image and mounted it: ${fsys.mnt} (${fsys.device})`)
    const data = path.join(fsys.mnt, 'data')
    await subvolume.create(data)
    mkdirSync(path.join(data, 'docs'))
    for (let i = 0; i < 20; i++) writeFileSync(path.join(data, 'docs', `note-${i}.txt`), `note ${i}\n`.repeat(100 * (i + 1)))
    writeFileSync(path.join(data, 'blob.bin'), Buffer.alloc(2 * 1024 * 1024, 7))
    say(`2. created subvolume ${data} with 21 files`)

    const snap1 = path.join(fsys.mnt, 'snap-1')
    await subvolume.snapshot(data, snap1, { readOnly: true })
    appendFileSync(path.join(data, 'docs/note-0.txt'), 'changed\n')
    renameSync(path.join(data, 'docs/note-1.txt'), path.join(data, 'renamed.txt'))
    writeFileSync(path.join(data, 'new.txt'), 'new file\n')
    const snap2 = path.join(fsys.mnt, 'snap-2')
    await subvolume.snapshot(data, snap2, { readOnly: true })
    const info1 = await subvolume.info(snap1)
    const info2 = await subvolume.info(snap2)
    say(`3. read-only snapshots: snap-1 (id ${info1.id}, uuid ${info1.uuid}) and, after a few changes, snap-2 (id ${info2.id})`)

    const full = path.join(out, 'snap-1.full.btrfs')
    const incr = path.join(out, 'snap-2.incremental.btrfs')
    await pipeline(send(snap1), createWriteStream(full))
    await pipeline(send(snap2, { parent: snap1 }), createWriteStream(incr))
    say(`4. sent the full stream:        ${full} (${statSync(full).size} bytes)`)
    say(`   and the incremental stream:  ${incr} (${statSync(incr).size} bytes)`)
    say(`   full:        ${await summarize(full)}`)
    say(`   incremental: ${await summarize(incr)}`)

    const recv = path.join(fsys.mnt, 'received')
    mkdirSync(recv)
    execFileSync('btrfs', ['receive', '-q', '-f', full, recv])
    execFileSync('btrfs', ['receive', '-q', '-f', incr, recv])
    const ok = sameTree(snap2, path.join(recv, 'snap-2'))
    const got = await subvolume.info(path.join(recv, 'snap-2'))
    say(`5. btrfs receive applied both streams into ${recv}: snap-2 ${ok ? 'matches' : 'DIFFERS FROM'} the original; received uuid ${got.receivedUuid}`)
    if (!ok || got.receivedUuid !== info2.uuid) throw new Error('the received snapshot does not match')

    const ours = path.join(fsys.mnt, 'received-by-btrfs-stream')
    mkdirSync(ours)
    await receive(createReadStream(full), ours)
    const result = await receive(createReadStream(incr), ours)
    const mine = result.subvolumes[0]
    const same = sameTree(snap2, mine.path)
    say(`6. receive() applied them too, into ${ours}: ${path.basename(mine.path)} ${same ? 'matches' : 'DIFFERS FROM'} the original, read-only, received uuid ${mine.receivedUuid}`)
    if (!same || mine.receivedUuid !== info2.uuid) throw new Error('our received snapshot does not match')
  } finally {
    destroyLoopBtrfs(fsys)
    say('7. unmounted and detached the image')
  }
}

main().catch((err) => {
  process.stderr.write(`demo failed: ${err && err.stack ? err.stack : err}\n`)
  process.exitCode = 1
})
