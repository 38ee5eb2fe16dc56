// The syscall queue's memory safety at its edges: it holds a reference to every buffer its
// records point into (the JS side may drop its own and collect garbage before the records run),
// and a worker thread terminated while its queue is running records tears down cleanly (the
// env cleanup hook stops the queue's thread before the worker's memory goes away).
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Worker } from 'node:worker_threads'
import { nativePath } from '../../lib/native'
import { pwriteRecord } from './queue-records'

const CHUNK = 128 * 1024
const RECORDS = 1000

function workerSource(): string {
  // Worker body: opens `file`, submits RECORDS pwrites of distinct buffers it keeps no reference
  // to, reports, and stays alive. The record layout is inlined (a worker evaluates plain JS).
  return `
const { parentPort, workerData } = require('node:worker_threads')
const fs = require('node:fs')
const addon = require(workerData.addon)
const fd = fs.openSync(workerData.file, 'w')
const queue = new addon.OpQueue()
const n = workerData.records
const records = Buffer.alloc(80 * n)
for (let i = 0; i < n; i++) {
  const r = records.subarray(80 * i, 80 * (i + 1))
  r.writeUInt32LE(15, 0); r.writeUInt32LE(i + 1, 4); r.writeInt32LE(fd, 8)
  r.writeUInt32LE(0xffffffff, 28); r.writeUInt32LE(0xffffffff, 32)
  r.writeUInt32LE(i, 36); r.writeUInt32LE(1, 40); r.writeBigInt64LE(BigInt(i * ${CHUNK}), 48)
}
queue.submit(records, records.length, Array.from({ length: n }, (_, i) => Buffer.alloc(${CHUNK}, i & 0xff)))
parentPort.postMessage('submitted')
setInterval(() => {}, 1000)
`
}

describe('OpQueue edges', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'btrfs-stream-queue-'))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  test('records point into buffers the JS side dropped and garbage-collected: the data still arrives intact', () => {
    const { OpQueue } = require(nativePath() as string) as BtrfsNative.Addon
    const v8 = require('node:v8') as typeof import('node:v8')
    const vm = require('node:vm') as typeof import('node:vm')
    v8.setFlagsFromString('--expose-gc')
    const gc = vm.runInNewContext('gc') as () => void
    const file = path.join(dir, 'pinned')
    const fd = require('node:fs').openSync(file, 'w') as number
    const queue = new OpQueue()
    const n = 200
    // A slow first record (a large write of a buffer this test keeps) holds the queue's thread
    // while the buffers of the later records lose their last JS reference and are collected.
    const slow = Buffer.alloc(128 * 2 ** 20, 1)
    const big = pwriteRecord(1, fd, n, n * 4096)
    const records = Buffer.concat([big, ...Array.from({ length: n }, (_, i) => pwriteRecord(i + 2, fd, i, i * 4096))])
    const data: Uint8Array[] = Array.from({ length: n }, (_, i) => new Uint8Array(4096).fill((i * 7) & 0xff))
    data.push(slow)
    queue.submit(records, records.length, data)
    data.length = 0
    for (let k = 0; k < 5; k++) {
      gc()
      // Churn the allocator so freed memory would be reused with other bytes.
      Array.from({ length: 200 }, () => new Uint8Array(4096).fill(0xee))
    }
    expect(queue.wait()).toBeUndefined()
    queue.close()
    require('node:fs').closeSync(fd)
    const got = readFileSync(file)
    expect(got.length).toBe(n * 4096 + slow.length)
    for (let i = 0; i < n; i++) expect(got.subarray(i * 4096, (i + 1) * 4096).every((b) => b === ((i * 7) & 0xff))).toBe(true)
  })

  test('terminating a worker while its queue runs records is safe, again and again', async () => {
    const addon = nativePath() as string
    let cutShort = 0
    for (let run = 0; run < 8; run++) {
      const file = path.join(dir, `teardown-${run}`)
      const worker = new Worker(workerSource(), { eval: true, workerData: { addon, file, records: RECORDS } })
      await new Promise<void>((resolve, reject) => {
        worker.once('message', () => resolve())
        worker.once('error', reject)
      })
      await worker.terminate()
      if (statSync(file).size < RECORDS * CHUNK) cutShort++
    }
    // At least one teardown really happened mid-queue (else the test proves nothing).
    expect(cutShort).toBeGreaterThan(0)
    // This process is alive and its own addon still works.
    const { OpQueue } = require(addon) as BtrfsNative.Addon
    const q = new OpQueue()
    expect(q.wait()).toBeUndefined()
    q.close()
  })
})
