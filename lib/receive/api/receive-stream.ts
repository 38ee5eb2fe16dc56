// createReceiveStream(dest, options): receive() as a Writable, for pipeline(). Each written chunk
// is handed to receive() as the next chunk of its byte source; the write's callback runs once
// receive() has taken it, so receive()'s backpressure (at most 8 MiB in flight to the worker)
// holds the writer back. The stream finishes only once the receive completed (every subvolume
// marked received and renamed); a failed receive destroys it with that error, and destroying it
// aborts the receive, which deletes the partial subvolume as any failed receive does.
import { Writable } from 'node:stream'
import { receive } from './receive.js'
import { validate, type ReceiveOptions, type ReceiveResult } from './options.js'

export interface ReceiveStream extends Writable {
  /** Settles with receive()'s outcome. */
  readonly result: Promise<ReceiveResult>
}

/** A Writable that receives the send stream(s) written to it into `dest` (see receive()). */
export function createReceiveStream(dest: string, options: ReceiveOptions = {}): ReceiveStream {
  validate(dest, options)
  const controller = new AbortController()
  const outer = options.signal
  const forward = () => controller.abort(outer?.reason)
  if (outer?.aborted) forward()
  else outer?.addEventListener('abort', forward, { once: true })

  let slot: { chunk: Uint8Array; done: () => void } | undefined
  let wake: (() => void) | undefined
  let ended = false
  /** receive() settled: it reads nothing more (stopAtEnd, or an error). */
  let settled = false
  const poke = () => {
    const w = wake
    wake = undefined
    w?.()
  }

  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (;;) {
      while (slot === undefined && !ended) await new Promise<void>((resolve) => (wake = resolve))
      const s = slot
      if (s === undefined) return
      slot = undefined
      yield s.chunk
      // receive() copied the chunk before asking for the next one.
      s.done()
    }
  }

  const result = receive(chunks(), dest, { ...options, signal: controller.signal })
  const finished = result.then(
    () => undefined,
    (err: unknown) => err,
  )
  void finished.then(() => {
    settled = true
    outer?.removeEventListener('abort', forward)
    // A write receive() will never take (it stopped at END, or failed) is let go.
    const s = slot
    slot = undefined
    s?.done()
  })

  const stream = new Writable({
    write(chunk: Uint8Array, _encoding, callback) {
      if (settled) return callback()
      slot = { chunk, done: () => callback() }
      poke()
    },
    final(callback) {
      ended = true
      poke()
      void finished.then((err) => callback(err as Error | undefined))
    },
    destroy(err, callback) {
      if (settled) return callback(err)
      ended = true
      controller.abort(err ?? new Error('receive stream destroyed'))
      poke()
      // The partial subvolume is deleted before the stream reports that it is closed.
      void finished.then(() => callback(err))
    },
  })
  // A receive that fails while data is still being written ends the stream with its error.
  void finished.then((err) => {
    if (err !== undefined && !stream.destroyed) stream.destroy(err as Error)
  })
  result.catch(() => undefined)
  return Object.assign(stream, { result })
}
