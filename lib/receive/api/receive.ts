// receive(source, dest, options): the public entry, on the caller's thread. Validates options,
// starts the worker (spawn-worker.ts), copies input chunks to it with backpressure (at most
// MAX_IN_FLIGHT unacknowledged bytes), relays progress and warnings to the callbacks, wires
// AbortSignal, and settles with the result or the worker's error rebuilt as its own class.
// The caller's event loop only moves bytes; every syscall happens on the worker.
import path from 'node:path'
import { AbortError, BtrfsError, InvalidArgumentError } from '../../errors.js'
import { checkByteSource } from '../../check.js'
import { readFileChunks } from '../../stream/file-source.js'
import type { ByteSource } from '../../stream/parser.js'
import { rebuildError } from './error-transfer.js'
import { FrameChecker } from '../../stream/frame-check.js'
import '../../stream/crc32c-native.js'
import { engineOptions, validate, type ReceiveOptions, type ReceiveResult } from './options.js'
import type { FromWorker, ToWorker, WorkerInit } from './protocol.js'
import type { ReceiveError } from '../engine/receive-error.js'
import { spawnReceiveWorker } from './spawn-worker.js'

const MAX_IN_FLIGHT = 8 * 1024 * 1024
/** Chunks of 1/16 of this up to this size travel in reused buffers (the worker hands each back with its ack). */
const POOLED_SIZE = 1024 * 1024

/**
 * Receives the send stream(s) in `source` (a byte source, or the path of a file holding them)
 * into directory `dest` (on btrfs), as btrfs receive does: each subvolume is created (or
 * snapshotted from its parent, found by received uuid, then uuid), filled, marked received with
 * the stream's uuid and ctransid, and made read-only.
 */
export async function receive(source: ByteSource | string, dest: string, options: ReceiveOptions = {}): Promise<ReceiveResult> {
  validate(dest, options)
  checkByteSource(source, 'source', true)
  // A path is read as parse() reads one (each chunk is copied below before its buffer is reused).
  if (typeof source === 'string') source = readFileChunks(source)
  const { signal } = options
  if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason })
  const abortFlag = new SharedArrayBuffer(4)
  const init: WorkerInit = {
    dest: path.resolve(dest),
    abortFlag,
    // The CRC32C pass is the costliest part of decoding; done here it overlaps the worker's
    // syscalls. Not with stopAtEnd: what follows the first END need not be a stream at all.
    options: engineOptions(options, options.stopAtEnd ?? false),
  }
  const worker = spawnReceiveWorker(init)
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
  const send = (m: ToWorker, transfer?: ArrayBuffer[]) => worker.postMessage(m, transfer)

  let inFlight = 0
  const pool: ArrayBuffer[] = []
  let drained: (() => void) | undefined
  let stopReading = false
  let settled = false
  let workerError: Error | undefined
  let resolveDone!: (r: ReceiveResult) => void
  let rejectDone!: (e: unknown) => void
  const done = new Promise<ReceiveResult>((res, rej) => {
    resolveDone = res
    rejectDone = rej
  })
  const settle = () => {
    settled = true
    stopReading = true
    drained?.()
  }

  worker.on('message', (m: FromWorker) => {
    switch (m.t) {
      case 'ack':
        inFlight -= m.n
        if (m.b && m.b.byteLength === POOLED_SIZE && pool.length < 16) pool.push(m.b)
        if (inFlight <= MAX_IN_FLIGHT) drained?.()
        return
      case 'progress':
        options.onProgress?.({ ...m.p })
        return
      case 'warning':
        options.onWarning?.({ code: m.w.code, message: m.w.message, error: m.w.error ? (rebuildError(m.w.error) as ReceiveError) : undefined })
        return
      case 'stop':
        stopReading = true
        drained?.()
        return
      case 'done':
        settle()
        resolveDone({ subvolumes: m.subvolumes, commands: m.commands, bytes: m.bytes })
        return
      case 'error': {
        settle()
        let err = rebuildError(m.error)
        workerError = err
        if (err.name === 'AbortError' && signal?.aborted) {
          const abort = new AbortError(undefined, { cause: signal.reason })
          const kept = (err as { partialPath?: string }).partialPath
          if (kept !== undefined) {
            Object.assign(abort, { partialPath: kept })
            abort.message += ` (partial subvolume kept at '${kept}', not marked received)`
          }
          err = abort
        }
        rejectDone(err)
      }
    }
  })
  worker.on('error', (err) => {
    settle()
    rejectDone(new BtrfsError('BTRFS_RECEIVE_WORKER_FAILED', `receive worker failed: ${err.message}`, { cause: err }))
  })
  worker.on('exit', (code) => {
    if (settled) return
    settle()
    rejectDone(new BtrfsError('BTRFS_RECEIVE_WORKER_FAILED', `receive worker exited with code ${code} before finishing`))
  })

  const onAbort = () => {
    Atomics.store(new Int32Array(abortFlag), 0, 1)
    send({ t: 'abort' })
  }
  signal?.addEventListener('abort', onAbort, { once: true })

  // Checks framing and CRC of every byte before the worker sees it, so the worker never applies
  // a command that fails its CRC; its errors (bad CRC, oversized) end the receive. It decodes
  // nothing: the worker does, once (and reports truncation, unknown commands and attributes).
  const checker = init.options.verifyCrc ? undefined : new FrameChecker(options.maxCommandLength)

  const feed = async () => {
    const iterator = (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]
      ? (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]()
      : toAsync((source as Iterable<Uint8Array>)[Symbol.iterator]())
    const finished = done.then(() => undefined, () => undefined)
    try {
      while (!stopReading) {
        if (inFlight > MAX_IN_FLIGHT) {
          await new Promise<void>((resolve) => {
            drained = () => {
              drained = undefined
              resolve()
            }
          })
          continue
        }
        const next = await Promise.race([iterator.next(), finished])
        if (next === undefined || stopReading) break
        if (next.done) {
          send({ t: 'end' })
          break
        }
        const chunk = next.value
        if (typeof chunk === 'string') throw new InvalidArgumentError('receive() needs a byte source, got a string chunk (was an encoding set?)')
        if (chunk.length === 0) continue
        checker?.check(chunk)
        // A copy the worker may own: the caller's chunk may be shared with other consumers.
        const copy = chunk.length <= POOLED_SIZE && chunk.length >= POOLED_SIZE / 16
          ? new Uint8Array(pool.pop() ?? new ArrayBuffer(POOLED_SIZE), 0, chunk.length)
          : new Uint8Array(chunk.length)
        copy.set(chunk)
        inFlight += copy.length
        send({ t: 'chunk', b: copy }, [copy.buffer])
      }
    } catch (err) {
      // The source failed, or its bytes are not a valid stream: the worker must not finish what
      // it has as if the input were complete.
      stopReading = true
      Atomics.store(new Int32Array(abortFlag), 0, 1)
      send({ t: 'abort' })
      await finished
      const kept = (workerError as { partialPath?: string } | undefined)?.partialPath
      if (kept !== undefined && err instanceof Error) {
        Object.assign(err, { partialPath: kept })
        err.message += ` (partial subvolume kept at '${kept}', not marked received)`
      }
      throw err
    } finally {
      if (stopReading) await iterator.return?.()
    }
  }

  let sourceError: unknown
  const feeding = feed().catch((err: unknown) => {
    sourceError = err
  })
  try {
    const result = await done
    await feeding
    if (sourceError !== undefined) throw sourceError
    return result
  } catch (err) {
    await feeding
    throw sourceError ?? err
  } finally {
    signal?.removeEventListener('abort', onAbort)
    // The worker closes its fds, posts the outcome and exits by itself; terminate only a straggler.
    let timer: NodeJS.Timeout | undefined
    await Promise.race([exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, 5000)))])
    clearTimeout(timer)
    await worker.terminate()
  }
}

async function* toAsync(it: Iterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  for (let r = it.next(); !r.done; r = it.next()) yield r.value
}
