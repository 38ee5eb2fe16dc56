// Reads a file descriptor in chunks for the in-thread receiver (receive-fd.ts), one read ahead:
// while the caller applies chunk k, the read of chunk k+1 runs on a libuv pool thread into
// another of three reused buffers, so reading overlaps applying without a second isolate and
// without a buffer per chunk. Three, because the engine's syscall queue may still be writing
// from chunk k-1 while chunk k is decoded (engine.ts): a buffer is refilled only two reads later.
import fs from 'node:fs'

/**
 * 4 MiB: the applying thread waits for the read ahead less often than with 1 MiB (on 2 busy
 * cores the pool thread is not always scheduled in time; measured on a compressed 225 MiB
 * stream, 0.70 s with 1 MiB, 0.59 s with 4 MiB). Three of them are all the input memory we hold.
 */
const CHUNK = 4 << 20
const BUFFERS = 3

/**
 * One read. A descriptor handed to us non-blocking (a parent's O_NONBLOCK pipe) answers EAGAIN
 * when no data is waiting: wait a moment and read again rather than fail.
 */
async function readOnce(fd: number, buf: Buffer): Promise<number> {
  for (;;) {
    try {
      return await new Promise<number>((resolve, reject) =>
        fs.read(fd, buf, 0, buf.length, null, (err, bytes) => (err ? reject(err) : resolve(bytes))),
      )
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
  }
}

export class FdReader {
  readonly #fd: number
  readonly #readAhead: boolean
  readonly #buffers = Array.from({ length: BUFFERS }, () => Buffer.allocUnsafeSlow(CHUNK))
  #next = 0
  /** The read in flight into #buffers[#next], if any. */
  #pending: Promise<number> | undefined
  #done = false

  /**
   * `readAhead` false reads only when asked (nothing beyond what the caller consumed is taken
   * from a pipe, e.g. when stopping at the first END).
   */
  constructor(fd: number, readAhead = true) {
    this.#fd = fd
    this.#readAhead = readAhead
    if (readAhead) this.#start()
  }

  /** The next chunk, or null at end of input. Valid until the second call after this one. */
  async read(): Promise<Buffer | null> {
    if (this.#done) return null
    if (!this.#pending) this.#start()
    const buf = this.#buffers[this.#next]
    const n = await this.#pending!
    this.#pending = undefined
    if (n === 0) {
      this.#done = true
      return null
    }
    this.#next = (this.#next + 1) % BUFFERS
    if (this.#readAhead) this.#start()
    return buf.subarray(0, n)
  }

  /** Waits for a read still in flight (so the fd may be closed); its outcome is dropped. */
  async settle(): Promise<void> {
    this.#done = true
    await this.#pending?.catch(() => undefined)
    this.#pending = undefined
  }

  #start(): void {
    const p = readOnce(this.#fd, this.#buffers[this.#next])
    // A failure is reported by the read() that awaits it; until then it is not unhandled.
    p.catch(() => undefined)
    this.#pending = p
  }
}
