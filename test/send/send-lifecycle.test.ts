// Lifecycle torture for send: destroy and abort mid-stream (the ioctl returns, its thread ends,
// no fd leaks), process exit and worker teardown mid-send, and eight concurrent sends blocked on
// slow readers while fs.stat keeps answering (the ioctls are not on the libuv pool).
import { spawn } from 'node:child_process'
import { closeSync, constants, promises as fsp } from 'node:fs'
import path from 'node:path'
import { Worker } from 'node:worker_threads'
import { send, sendToFd } from '../../lib/index.js'
import { describeBtrfs, sh } from '../support/btrfs.js'
import { drain, openFdCount, threadCount, waitFor } from './fixtures.js'

const distIndex = path.resolve(__dirname, '../../dist/index.js')

describeBtrfs('send() lifecycle', { size: '1G' }, (fs) => {
  let snap: string
  beforeAll(() => {
    const src = path.join(fs().mnt, 'src')
    sh('btrfs', ['subvolume', 'create', src])
    sh('dd', ['if=/dev/urandom', `of=${src}/big`, 'bs=1M', 'count=48', 'status=none'])
    snap = path.join(fs().mnt, 'snap')
    sh('btrfs', ['subvolume', 'snapshot', '-r', src, snap])
  })
  // One whole send first: it starts the libuv pool and loads the addon, so the fd and thread
  // baselines below include them.
  beforeAll(async () => {
    expect((await drain(send(snap))).length).toBeGreaterThan(48 * 1024 * 1024)
  })

  async function settled(baseFds: number, baseThreads: number) {
    await waitFor(() => openFdCount() <= baseFds && threadCount() <= baseThreads)
  }

  test('destroy after the first chunk: the kernel stops, thread and fds are released', async () => {
    const fds = openFdCount()
    const threads = threadCount()
    const stream = send(snap)
    const first = await new Promise<Buffer>((resolve) => stream.once('data', resolve))
    expect(first.subarray(0, 12).toString()).toBe('btrfs-stream')
    stream.destroy()
    await new Promise((r) => stream.once('close', r))
    expect(stream.bytesRead).toBeLessThan(48 * 1024 * 1024)
    await settled(fds, threads)
  })

  test('a send the kernel fails after writing is destroyed with the error, never ended', async () => {
    const { native } = await import('../../lib/native.js')
    const addon = native()
    const real = addon.startSend
    // The kernel streams for real; only its verdict is replaced by EIO, as when a send breaks
    // mid-way ("inconsistent snapshot") after part of the stream was written.
    const spy = jest.spyOn(addon, 'startSend').mockImplementation((args, done) => real.call(addon, args, () => done(5, 0)))
    try {
      const stream = send(snap)
      let ended = false
      stream.on('end', () => (ended = true))
      const err = await new Promise<Error & Record<string, unknown>>((resolve) => stream.on('error', resolve).resume())
      expect(err).toMatchObject({ code: 'EIO', errno: -5, syscall: 'ioctl', ioctl: 'BTRFS_IOC_SEND', path: snap })
      expect(stream.bytesRead).toBeGreaterThan(0)
      expect(ended).toBe(false)
    } finally {
      spy.mockRestore()
    }
  })

  test('AbortSignal mid-stream rejects with AbortError and releases everything', async () => {
    const fds = openFdCount()
    const threads = threadCount()
    const ac = new AbortController()
    const stream = send(snap, { signal: ac.signal })
    stream.once('data', () => ac.abort(new Error('enough')))
    const err = await new Promise<Error & { code?: string; cause?: unknown }>((resolve) => stream.once('error', resolve))
    expect(err.name).toBe('AbortError')
    expect(err.code).toBe('ABORT_ERR')
    expect((err.cause as Error).message).toBe('enough')
    await settled(fds, threads)
  })

  test('an already aborted signal fails before anything is sent', async () => {
    const stream = send(snap, { signal: AbortSignal.abort() })
    const err = await new Promise<Error>((resolve) => stream.once('error', resolve))
    expect(err.name).toBe('AbortError')
    expect(stream.bytesRead).toBe(0)
  })

  test('sendToFd aborted while the target blocks: rejects, both threads end', async () => {
    const threads = threadCount()
    const fds = openFdCount()
    // A FIFO nobody reads: the splice blocks once the FIFO's buffer is full.
    const fifo = path.join(fs().dir, 'fifo')
    sh('mkfifo', [fifo])
    const reader = await fsp.open(fifo, constants.O_RDONLY | constants.O_NONBLOCK)
    const writer = await fsp.open(fifo, 'w')
    const ac = new AbortController()
    const pending = sendToFd(snap, writer, { signal: ac.signal })
    await new Promise((r) => setTimeout(r, 300))
    ac.abort()
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' })
    await writer.close()
    await reader.close()
    await settled(fds, threads)
  })

  test('sendToFd into a pipe whose reader is gone: EPIPE from the copy, not from the kernel', async () => {
    const threads = threadCount()
    const { native } = await import('../../lib/native.js')
    const [r, w] = native().pipe2()
    closeSync(r)
    const err = await sendToFd(snap, w).then(
      () => undefined,
      (e: Error & Record<string, unknown>) => e,
    )
    closeSync(w)
    expect(err).toMatchObject({ code: 'EPIPE', syscall: 'splice', path: snap })
    await waitFor(() => threadCount() <= threads)
  })

  test('process.exit mid-send exits promptly and cleanly', async () => {
    const script = `
      const { send } = require(${JSON.stringify(distIndex)})
      const s = send(${JSON.stringify(snap)})
      s.once('data', () => { s.pause(); setTimeout(() => process.exit(7), 50) })`
    const started = Date.now()
    const code = await new Promise<number | null>((resolve) => spawn(process.execPath, ['-e', script]).on('exit', resolve))
    expect(code).toBe(7)
    expect(Date.now() - started).toBeLessThan(10_000)
  })

  test('a destroyed send does not keep the process alive', async () => {
    const script = `
      const { send } = require(${JSON.stringify(distIndex)})
      const s = send(${JSON.stringify(snap)})
      s.once('data', () => s.destroy())
      s.on('close', () => console.log('closed'))`
    const out = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = spawn(process.execPath, ['-e', script])
      let stdout = ''
      child.stdout.on('data', (d) => (stdout += d))
      child.on('exit', (code) => resolve({ code, stdout }))
    })
    expect(out).toEqual({ code: 0, stdout: 'closed\n' })
  })

  test('worker_threads teardown mid-send: terminate() returns and threads are joined', async () => {
    const threads = threadCount()
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads')
       const { send } = require(${JSON.stringify(distIndex)})
       const s = send(${JSON.stringify(snap)})
       s.once('data', () => { s.pause(); parentPort.postMessage('streaming') })`,
      { eval: true },
    )
    await new Promise((resolve, reject) => {
      worker.once('message', resolve)
      worker.once('error', reject)
    })
    await worker.terminate()
    await waitFor(() => threadCount() <= threads)
  })

  test('eight concurrent sends on paused readers leave fs.stat responsive', async () => {
    const fds = openFdCount()
    const threads = threadCount()
    const streams = Array.from({ length: 8 }, () => send(snap))
    // Each takes one chunk and then stops reading: its kernel thread blocks on a full pipe.
    await Promise.all(streams.map((s) => new Promise((resolve) => s.once('data', () => resolve(s.pause())))))
    let worst = 0
    for (let i = 0; i < 40; i++) {
      const t0 = process.hrtime.bigint()
      await fsp.stat(snap)
      worst = Math.max(worst, Number(process.hrtime.bigint() - t0) / 1e6)
    }
    // On the libuv pool, four blocked sends would starve fs.stat entirely (seconds, or forever);
    // on dedicated threads it answers in milliseconds. The bound leaves room for a loaded machine.
    expect(worst).toBeLessThan(1000)
    for (const s of streams) s.destroy()
    await settled(fds, threads)
  })
})
