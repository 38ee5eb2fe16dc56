// Entry of the receive worker thread: pulls input chunks from the caller and runs them through
// the ReceiveEngine (decode, then apply each command with synchronous native syscalls), so a
// long receive never blocks the caller's event loop and pays no promise per syscall. Reports
// progress, warnings and the result as messages; on any failure it discards the subvolume in
// progress before reporting the error.
import { parentPort, workerData } from 'node:worker_threads'
import { Destination } from '../fs/destination.js'
import { ReceiveEngine } from '../engine/engine.js'
import { flattenError } from './error-transfer.js'
import type { FromWorker, ToWorker, WorkerInit } from './protocol.js'

const init = workerData as WorkerInit
const port = parentPort!
const aborted = new Int32Array(init.abortFlag)
const queue: (Uint8Array | null)[] = []
let wake: (() => void) | undefined

function post(message: FromWorker): void {
  port.postMessage(message)
}

port.on('message', (m: ToWorker) => {
  if (m.t === 'chunk') queue.push(m.b)
  else if (m.t === 'end') queue.push(null)
  wake?.()
})

function nextChunk(): Uint8Array | null | Promise<Uint8Array | null> {
  if (queue.length > 0) return queue.shift()!
  // An abort that arrived before we waited must not be missed.
  if (Atomics.load(aborted, 0) !== 0) return null
  return new Promise((resolve) => {
    wake = () => {
      if (queue.length === 0 && Atomics.load(aborted, 0) === 0) return
      wake = undefined
      resolve(queue.length > 0 ? queue.shift()! : null)
    }
  })
}

async function run(): Promise<void> {
  let engine: ReceiveEngine | undefined
  let dest: Destination | undefined
  let final: FromWorker | undefined
  try {
    dest = await Destination.open(init.dest)
    engine = new ReceiveEngine(dest, init.options, {
      progress: (p) => post({ t: 'progress', p }),
      warning: (code, message, error) => post({ t: 'warning', w: { code, message, error: error ? flattenError(error) : undefined } }),
      aborted: () => Atomics.load(aborted, 0) !== 0,
    })
    // A chunk is handed back (acknowledged) once nothing refers into it: after the next chunk
    // was applied, or after a drain when no next chunk is waiting (the caller may be holding it
    // back until this ack).
    let held: Uint8Array | undefined
    const ack = () => {
      if (!held) return
      port.postMessage({ t: 'ack', n: held.length, b: held.buffer as ArrayBuffer } satisfies FromWorker, [held.buffer as ArrayBuffer])
      held = undefined
    }
    for (;;) {
      if (queue.length === 0 && held) {
        await engine.drain()
        ack()
      }
      const pending = nextChunk()
      const chunk = pending instanceof Promise ? await pending : pending
      if (chunk === null) break
      const more = await engine.chunk(chunk)
      ack()
      held = chunk
      if (!more) {
        post({ t: 'stop' })
        break
      }
    }
    final = { t: 'done', ...(await engine.finish()) }
  } catch (err) {
    await engine?.abort(err)
    final = { t: 'error', error: flattenError(err) }
  } finally {
    // Every fd is closed before the caller hears the outcome (it may terminate us right away).
    try {
      dest?.close()
    } catch (err) {
      if (final?.t === 'done') final = { t: 'error', error: flattenError(err) }
    }
    if (final) post(final)
    port.close()
  }
}

void run()
