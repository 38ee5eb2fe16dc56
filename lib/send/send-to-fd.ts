// The direct form of send: the stream goes to a caller's fd (file, socket, pipe) without passing
// through JS. As btrfs send does, the kernel writes into a pipe and a second native thread
// splices it onward: unlike handing the kernel the fd itself, this appends at the fd's position
// (the kernel would write every subvolume at offset 0), counts the bytes exactly, and can be
// interrupted. Resolves with the number of bytes written.
import type { FileHandle } from 'node:fs/promises'
import { AbortError, BtrfsSystemError, fromNative, InvalidArgumentError } from '../errors.js'
import { native } from '../native.js'
import { describe } from '../subvolume/api.js'
import { sendError } from './kernel-error.js'
import { normalizeSendOptions, type SendOptions } from './options.js'
import { createSendPipe } from './pipe.js'
import { planSend, type SendPart } from './plan.js'

const SPLICE_CHUNK = 1024 * 1024

export type SendTarget = number | FileHandle | { fd: number }

function targetFd(target: unknown): number {
  const fd = typeof target === 'number' ? target : (target as { fd?: unknown } | null)?.fd
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0) {
    throw new InvalidArgumentError(`target must be a file descriptor, a FileHandle or { fd }, got ${describe(target)}`)
  }
  return fd
}

/** Sends `subvolumes` straight into `target`; resolves with the bytes written. */
export async function sendToFd(
  subvolumes: string | string[],
  target: SendTarget,
  options: Omit<SendOptions, 'highWaterMark'> = {},
): Promise<number> {
  const outFd = targetFd(target)
  const opts = normalizeSendOptions(subvolumes, options)
  if (opts.signal?.aborted) throw new AbortError(undefined, { cause: opts.signal.reason })
  const plan = await planSend(opts)
  let total = 0
  try {
    for (const part of plan.parts) total += await sendPart(part, outFd, opts.signal)
  } finally {
    await plan.close()
  }
  return total
}

function sendPart(part: SendPart, outFd: number, signal: AbortSignal | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const addon = native()
    const pipe = createSendPipe()
    let sendErrno: number | undefined
    let splice: { errno: number; bytes: number } | undefined
    let aborted = false
    const finish = () => {
      if (sendErrno === undefined || splice === undefined) return
      signal?.removeEventListener('abort', onAbort)
      if (aborted) reject(new AbortError(undefined, { cause: signal?.reason }))
      // Where the copy failed (EPIPE from a closed socket, ENOSPC), that is the cause; the
      // kernel's own EPIPE is only its consequence.
      else if (splice.errno !== 0) {
        reject(new BtrfsSystemError({ errno: splice.errno, syscall: 'splice', path: part.subvol.path, message: 'writing the send stream to the target failed' }))
      } else if (sendErrno !== 0) reject(sendError(sendErrno, part.subvol.path))
      else resolve(splice.bytes)
    }
    let sendJob: BtrfsNative.Job
    let spliceJob: BtrfsNative.Job
    try {
      spliceJob = addon.startSplice(pipe.readFd, outFd, SPLICE_CHUNK, (errno, bytes) => {
        splice = { errno, bytes }
        finish()
      })
    } catch (err) {
      reject(fromNative(err, part.subvol.path))
      return
    }
    try {
      sendJob = addon.startSend(
        {
          subvolFd: part.subvol.fd,
          sendFd: pipe.writeFd,
          cloneSources: BigUint64Array.from(part.cloneSources),
          parentRoot: part.parentRoot,
          flags: part.flags,
          version: part.version,
        },
        (errno) => {
          sendErrno = errno
          finish()
        },
      )
    } catch (err) {
      // The splice job owns the read end; interrupting it closes the pipe.
      sendErrno = -1
      spliceJob.interrupt()
      reject(fromNative(err, part.subvol.path))
      return
    }
    function onAbort() {
      aborted = true
      // Retried until both threads are out of the kernel: a wake can land before the syscall.
      const wake = () => {
        const busy = [sendJob.interrupt(), spliceJob.interrupt()].some(Boolean)
        if (busy) setTimeout(wake, 20).unref()
      }
      wake()
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
