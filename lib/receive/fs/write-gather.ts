// Write gathering: consecutive contiguous WRITEs to one file become one pwritev of up to
// MAX_GATHERED_WRITE bytes. The gathered range is written by flush(), which the applier calls
// before any other command and the session calls before an input chunk is released (the parts
// are views into it). A failure is reported against the WRITE that started the range.
import { constants as osc } from 'node:os'
import type { Command } from '../../stream/commands.js'
import type { QueuedOps } from './queued-ops.js'

const MAX_GATHERED_WRITE = 2 * 1024 * 1024

interface Gathered {
  fd: number
  offset: number
  parts: Uint8Array[]
  length: number
  /** The WRITE that started the range (none for the applier's own zero-fill). */
  cmd?: Command
  /** Its record tag: queued, the pwritev belongs to that command. */
  tag: number
}

/** A failed gathered write, carrying the WRITE command it belongs to. */
export class FlushError extends Error {
  constructor(
    readonly failure: unknown,
    readonly command: Command | undefined,
  ) {
    super('gathered write failed')
  }
}

export class WriteGatherer {
  readonly #ops: QueuedOps
  #pending: Gathered | undefined

  constructor(ops: QueuedOps) {
    this.#ops = ops
  }

  /** The fd of the gathered range, or -1 when nothing is gathered. */
  get fd(): number {
    return this.#pending?.fd ?? -1
  }

  /** Adds a write; a write that does not continue the gathered range flushes it first. */
  add(fd: number, data: Uint8Array, offset: number, cmd?: Command): void {
    const p = this.#pending
    if (p && p.fd === fd && p.offset + p.length === offset && p.length + data.length <= MAX_GATHERED_WRITE) {
      p.parts.push(data)
      p.length += data.length
      return
    }
    if (p) this.flush()
    this.#pending = { fd, offset, parts: [data], length: data.length, cmd, tag: this.#ops.tag }
  }

  /** Writes the gathered range (queued or direct); throws FlushError on failure. */
  flush(): void {
    const p = this.#pending
    if (!p) return
    this.#pending = undefined
    const ops = this.#ops
    let parts = p.parts
    let done = 0
    const tag = ops.tag
    ops.tag = p.tag
    try {
      while (done < p.length) {
        const n = ops.pwritev(p.fd, parts, p.offset + done)
        if (n === 0) throw Object.assign(new Error('pwrite wrote nothing'), { errno: -osc.errno.EIO, syscall: 'pwrite' })
        done += n
        if (done < p.length) parts = remaining(parts, n)
      }
    } catch (err) {
      throw new FlushError(err, p.cmd)
    } finally {
      ops.tag = tag
    }
  }

  /** Forgets the gathered range without writing it (after a queue failure: it is replayed). */
  drop(): void {
    this.#pending = undefined
  }
}

/** The parts left after the first `n` bytes were written. */
function remaining(parts: Uint8Array[], n: number): Uint8Array[] {
  let i = 0
  while (n >= parts[i].length) n -= parts[i++].length
  return [parts[i].subarray(n), ...parts.slice(i + 1)]
}
