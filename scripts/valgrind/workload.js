// What scripts/valgrind.sh runs under memcheck: every addon entry point the package uses in
// bulk, from dist/ and the addon in build/Release: send (Readable) and sendToFd of a small
// read-only snapshot on a loopback btrfs, the syscall queue (pwrite records into buffers the JS
// side dropped, a failing record, reset, close, and one left for the GC), and the CRC32C
// functions on good and bad frames. Prints what ran; cleans up the loopback on every exit path.
'use strict'
const fs = require('node:fs')
const path = require('node:path')
const { createLoopBtrfs, destroyLoopBtrfs, run } = require('../loop-btrfs.js')

const root = path.resolve(__dirname, '../..')
const { send, sendToFd } = require(path.join(root, 'dist/send/index.js'))
const { nativePath } = require(path.join(root, 'dist/native.js'))
const addon = require(nativePath())
const rounds = Number(process.env.VALGRIND_ROUNDS ?? 5)

function pwrite(tag, fd, dataIndex, offset) {
  const r = Buffer.alloc(80)
  r.writeUInt32LE(15, 0)
  r.writeUInt32LE(tag, 4)
  r.writeInt32LE(fd, 8)
  r.writeUInt32LE(0xffffffff, 28)
  r.writeUInt32LE(0xffffffff, 32)
  r.writeUInt32LE(dataIndex, 36)
  r.writeUInt32LE(1, 40)
  r.writeBigInt64LE(BigInt(offset), 48)
  return r
}

async function main(mnt) {
  const src = path.join(mnt, 'src')
  run('btrfs', ['subvolume', 'create', src])
  for (let i = 0; i < 5; i++) fs.writeFileSync(path.join(src, `f${i}`), `file ${i}\n`.repeat(5000))
  const snap = path.join(mnt, 'snap')
  run('btrfs', ['subvolume', 'snapshot', '-r', src, snap])
  const devNull = fs.openSync('/dev/null', 'w')
  let sent = 0
  for (let i = 0; i < rounds; i++) {
    for await (const chunk of send(snap)) sent += chunk.length
    sent += await sendToFd(snap, devNull)
  }
  // A send destroyed while running.
  const s = send(snap)
  s.once('data', () => s.destroy())
  await new Promise((resolve) => s.once('close', resolve))
  fs.closeSync(devNull)
  console.log(`send: ${rounds} Readable + ${rounds} sendToFd, ${sent} bytes`)

  const target = fs.openSync(path.join(mnt, 'queue-target'), 'w')
  for (let i = 0; i < rounds; i++) {
    const q = new addon.OpQueue()
    const records = Buffer.concat(Array.from({ length: 50 }, (_, k) => pwrite(k + 1, target, k, k * 4096)))
    q.submit(records, records.length, Array.from({ length: 50 }, () => Buffer.alloc(4096, i)))
    if (q.wait() !== undefined) throw new Error('queue record failed')
    // A record on a bad fd fails (EBADF), and the rest of its batch is skipped.
    const bad = Buffer.concat([pwrite(1, 987654, 0, 0), pwrite(2, target, 0, 0)])
    q.submit(bad, bad.length, [Buffer.alloc(16)])
    const failure = q.wait()
    if (!failure || failure[0] !== 1) throw new Error(`expected the first record to fail, got ${failure}`)
    q.reset()
    q.close()
  }
  // One queue left to the garbage collector with a batch submitted.
  new addon.OpQueue().submit(pwrite(1, target, 0, 0), 80, [Buffer.alloc(8)])
  fs.closeSync(target)
  console.log(`queue: ${rounds} queues x 50 records, failure and reset, one left to the GC`)

  let crcs = 0
  const frame = Buffer.alloc(4096, 7)
  frame.writeUInt32LE(frame.length - 10, 0)
  for (let i = 0; i < rounds * 100; i++) {
    crcs ^= addon.crc32c(0, frame, i % 100, frame.length - (i % 50))
    crcs ^= addon.crc32cCommand(frame, 0, frame.length)
    crcs ^= addon.crc32cFrames(frame, 0, frame.length, 1 << 20)
    crcs ^= addon.crc32cFrames(frame, i % 20, frame.length, 100)
  }
  for (const args of [[0, frame, 5, 2], [0, frame, 0, frame.length + 1], [0, 'x', 0, 1]]) {
    try {
      addon.crc32c(...args)
    } catch {
      crcs++
    }
  }
  console.log(`crc32c: ${rounds * 400} calls and 3 bad ranges (${crcs >>> 0})`)
}

const fsys = createLoopBtrfs({ size: '256M' })
main(fsys.mnt)
  .then(() => {
    destroyLoopBtrfs(fsys)
    globalThis.gc?.()
  })
  .catch((err) => {
    destroyLoopBtrfs(fsys)
    console.error(err)
    process.exitCode = 1
  })
