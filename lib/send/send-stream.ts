// SendStream: a Readable of the kernel's send stream. Each subvolume gets a pipe and a send job
// on its own thread; we read the pipe through a libuv pipe handle (net.Socket: epoll, never the
// threadpool). Backpressure is the pipe: pausing the socket lets the pipe fill and the kernel's
// write block. A part ends only when the pipe hit EOF *and* the ioctl returned success, so a
// failed send can never look like a complete stream. Destroying closes the read end (the kernel
// gets EPIPE) and unrefs the job, so the process may exit at once.
import { closeSync } from 'node:fs'
import type net from 'node:net'
import { addAbortSignal, Readable } from 'node:stream'
import { fromNative, InvalidArgumentError } from '../errors.js'
import { native } from '../native.js'
import { sendError } from './kernel-error.js'
import { isNormalizedSendOptions, type NormalizedSendOptions } from './options.js'
import { createSendPipe } from './pipe.js'
import { planSend, type SendPart, type SendPlan } from './plan.js'
import { ProgressReporter } from './progress.js'
import { startEstimate } from './estimate-alongside.js'

const READ_SIZE = 1024 * 1024
const COALESCE_BELOW = 64 * 1024
const COALESCE_MS = 1

export class SendStream extends Readable {
  #options: NormalizedSendOptions
  #plan: SendPlan | undefined
  #next = 0
  #socket: net.Socket | undefined
  #job: BtrfsNative.Job | undefined
  #running = 0
  #bytesRead = 0
  #coalescing: NodeJS.Timeout | undefined
  #progress: ProgressReporter
  #stopEstimate: (() => void) | undefined

  constructor(options: NormalizedSendOptions) {
    if (!isNormalizedSendOptions(options)) throw new InvalidArgumentError('a SendStream is made by send(), not constructed directly')
    super({ highWaterMark: options.highWaterMark })
    this.#options = options
    this.#progress = new ProgressReporter(options.onProgress)
    // Attached after construction: an already-aborted signal destroys at once, which must find
    // the private fields initialised.
    if (options.signal) addAbortSignal(options.signal, this)
  }

  /** Bytes of stream delivered so far. */
  get bytesRead(): number {
    return this.#bytesRead
  }

  /** Bytes of stream sent so far (the same count as bytesRead). */
  get bytesSent(): number {
    return this.#bytesRead
  }

  /** The expected stream size, once the estimate run with `estimate: true` has finished. */
  get total(): number | undefined {
    return this.#progress.total
  }

  override _construct(callback: (err?: Error | null) => void): void {
    if (this.#options.estimate) {
      this.#stopEstimate = startEstimate(this.#options, (total) => {
        this.#progress.total = total
      })
    }
    planSend(this.#options).then(
      (plan) => {
        this.#plan = plan
        callback()
      },
      (err: Error) => callback(err),
    )
  }

  override _read(): void {
    if (this.#socket) {
      if (!this.#coalescing) this.#socket.resume()
    }
    else if (!this.#job) this.#startPart()
  }

  #startPart(): void {
    const plan = this.#plan!
    if (this.#next >= plan.parts.length) {
      void plan.close()
      this.#stopEstimate?.()
      this.#progress.finish(this.#bytesRead)
      this.push(null)
      return
    }
    const part = plan.parts[this.#next++]
    this.#progress.start(part.subvol.path, this.#bytesRead)
    let pipe: { readFd: number; writeFd: number }
    try {
      pipe = createSendPipe()
    } catch (err) {
      this.destroy(err as Error)
      return
    }
    let eof = false
    let result: number | undefined
    const settle = () => {
      if (result === undefined || this.destroyed) return
      if (result !== 0) {
        this.destroy(sendError(result, part.subvol.path))
      } else if (eof) {
        this.#socket = undefined
        this.#job = undefined
        this.#startPart()
      }
    }
    try {
      this.#job = this.#startJob(part, pipe.writeFd, (errno) => {
        result = errno
        settle()
      })
    } catch (err) {
      closeQuietly(pipe.readFd)
      this.destroy(fromNative(err, part.subvol.path) as Error)
      return
    }
    // libuv reads into our buffer (onread) instead of its fixed 64 KiB ones: one read can take
    // the whole 1 MiB pipe, so consumers see large chunks and write with fewer syscalls. A read
    // that fills at least half the buffer is handed on as is (a fresh buffer takes its place);
    // smaller ones are copied out so a short chunk never pins a large allocation.
    let buffer = Buffer.allocUnsafe(READ_SIZE)
    // node:net is required here, not at the top: it is not in Node's startup snapshot, and a
    // program that only parses streams should not pay for loading it.
    const { Socket } = require('node:net') as typeof net
    const socket = new Socket({
      fd: pipe.readFd,
      readable: true,
      writable: false,
      onread: {
        buffer: () => buffer,
        callback: (n: number, buf: Uint8Array) => {
          let chunk: Buffer
          if (n >= READ_SIZE / 2) {
            chunk = (buf as Buffer).subarray(0, n)
            buffer = Buffer.allocUnsafe(READ_SIZE)
          } else {
            chunk = Buffer.from((buf as Buffer).subarray(0, n))
          }
          this.#bytesRead += n
          this.#progress.report(this.#bytesRead)
          // false pauses the socket: the pipe fills and the kernel's write blocks.
          const more = this.push(chunk)
          if (more && n < COALESCE_BELOW) {
            // A short read means the kernel is writing small commands (metadata): let them gather
            // in the pipe for a moment instead of waking for every few hundred bytes.
            this.#coalescing = setTimeout(() => {
              this.#coalescing = undefined
              if (!this.destroyed && this.readableLength < this.readableHighWaterMark) socket.resume()
            }, COALESCE_MS)
            return false
          }
          return more
        },
      },
    } as net.SocketConstructorOpts)
    this.#socket = socket
    socket.on('end', () => {
      eof = true
      socket.destroy()
      settle()
    })
    socket.on('error', (err) => this.destroy(err))
  }

  #startJob(part: SendPart, writeFd: number, done: (errno: number) => void): BtrfsNative.Job {
    this.#running++
    return native().startSend(
      {
        subvolFd: part.subvol.fd,
        sendFd: writeFd,
        cloneSources: BigUint64Array.from(part.cloneSources),
        parentRoot: part.parentRoot,
        flags: part.flags,
        version: part.version,
      },
      (errno) => {
        this.#running--
        if (this.#running === 0 && this.destroyed) void this.#plan?.close()
        done(errno)
      },
    )
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    clearTimeout(this.#coalescing)
    this.#stopEstimate?.()
    this.#socket?.destroy()
    this.#socket = undefined
    if (this.#job) {
      // The closed read end makes the kernel's next write fail with EPIPE; the signal also wakes
      // a write already blocked. Unref so a destroyed send never holds the process open.
      this.#job.interrupt()
      this.#job.unref()
    }
    if (this.#running === 0) void this.#plan?.close()
    callback(err)
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd)
  } catch {}
}
