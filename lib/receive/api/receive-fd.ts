// receiveFd(fd, dest, options): receive() for a process that has nothing else to do (the CLI):
// the same engine, confinement and transactions, but applied on the calling thread, with no
// worker. A worker costs a second V8 isolate and its module loading on every run (about a third
// of a small receive's wall time on a 2-core machine) and a copy of every input byte; here the
// only overlap kept is the one that pays, reading the next chunk on a pool thread while this
// one is applied (fd-reader.ts). The event loop is blocked while a chunk is applied (a few
// hundred ms at most), so signals and timers are served between chunks: fine for a CLI, not
// for a library caller, which is why receive() keeps its worker.
import path from 'node:path'
import { AbortError } from '../../errors.js'
import { Destination } from '../fs/destination.js'
import { ReceiveEngine } from '../engine/engine.js'
import { FdReader } from './fd-reader.js'
import { engineOptions, validate, type ReceiveOptions, type ReceiveResult } from './options.js'
import type { ReceiveError } from '../engine/receive-error.js'

/**
 * Receives the stream(s) read from `fd` into `dest`, like receive(). The fd stays open; a read
 * may still be in flight on it when this settles unless `settleReads` (then the caller may
 * close it right away; a read from a pipe waits for its writer).
 */
export async function receiveFd(fd: number, dest: string, options: ReceiveOptions = {}, settleReads = true): Promise<ReceiveResult> {
  validate(dest, options)
  const { signal } = options
  if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason })
  let aborted = false
  const onAbort = () => {
    aborted = true
  }
  signal?.addEventListener('abort', onAbort, { once: true })
  const opts = engineOptions(options, true)
  // With stopAtEnd nothing past what is consumed is read (the rest of a pipe stays for others).
  const reader = new FdReader(fd, !opts.stopAtEnd)
  let destination: Destination | undefined
  let engine: ReceiveEngine | undefined
  try {
    destination = await Destination.open(path.resolve(dest))
    engine = new ReceiveEngine(destination, opts, {
      progress: (p) => options.onProgress?.({ ...p }),
      warning: (code, message, error?: ReceiveError) => options.onWarning?.({ code, message, error }),
      aborted: () => aborted,
    })
    for (let chunk = await reader.read(); chunk !== null; chunk = await reader.read()) {
      if (!(await engine.chunk(chunk))) break
    }
    const result = await engine.finish()
    // Every fd is closed before the outcome is known, as the worker does.
    const d = destination
    destination = undefined
    d.close()
    return result
  } catch (err) {
    await engine?.abort(err)
    if (err instanceof AbortError && signal?.aborted) {
      const abort = new AbortError(undefined, { cause: signal.reason })
      const kept = (err as { partialPath?: string }).partialPath
      if (kept !== undefined) {
        Object.assign(abort, { partialPath: kept })
        abort.message += ` (partial subvolume kept at '${kept}', not marked received)`
      }
      throw abort
    }
    throw err
  } finally {
    signal?.removeEventListener('abort', onAbort)
    try {
      destination?.close()
    } catch {
      // Already failing: the first error is the one to report.
    }
    if (settleReads) await reader.settle()
  }
}
