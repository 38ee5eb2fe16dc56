// Entry of the receive worker thread: pulls input chunks from the caller, decodes them with
// StreamDecoder and applies each command synchronously (native *at syscalls), so a long receive
// never blocks the caller's event loop and pays no promise per syscall. Reports progress,
// warnings and the result as messages; on any failure it discards the subvolume in progress
// before reporting the error.
import { parentPort, workerData } from 'node:worker_threads'
import { AbortError } from '../errors.js'
import { StreamDecoder } from '../stream/decoder.js'
import { Destination } from './destination.js'
import { flattenError } from './error-transfer.js'
import type { FromWorker, ToWorker, WorkerInit } from './protocol.js'
import { Session } from './session.js'

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
  return new Promise((resolve) => {
    wake = () => {
      if (queue.length === 0 && Atomics.load(aborted, 0) === 0) return
      wake = undefined
      resolve(queue.length > 0 ? queue.shift()! : null)
    }
  })
}

function checkAbort(): void {
  if (Atomics.load(aborted, 0) !== 0) throw new AbortError()
}

async function run(): Promise<void> {
  const { options } = init
  let bytes = 0
  let lastProgress = 0
  let session: Session | undefined
  let dest: Destination | undefined
  let final: FromWorker | undefined
  const progress = (force: boolean) => {
    const now = Date.now()
    if (!force && now - lastProgress < options.progressIntervalMs) return
    lastProgress = now
    post({ t: 'progress', p: { bytes, commands: session?.commands ?? 0, subvolume: session?.currentName, subvolumesDone: session?.received.length ?? 0 } })
  }
  try {
    dest = await Destination.open(init.dest)
    session = new Session(dest, options, {
      warn: (code, message, error) => post({ t: 'warning', w: { code, message, error: error ? flattenError(error) : undefined } }),
      subvolume: () => progress(true),
    })
    const decoder = new StreamDecoder({
      maxCommandLength: options.maxCommandLength,
      allowUnknownCommands: false,
      onWarning: (w) => post({ t: 'warning', w: { code: w.code, message: w.message } }),
    })
    input: for (;;) {
      const pending = nextChunk()
      const chunk = pending instanceof Promise ? await pending : pending
      checkAbort()
      if (chunk === null) {
        decoder.end()
        break
      }
      const commands = decoder.push(chunk)
      for (let i = 0; i < commands.length; i += session.consumed) {
        const step = session.handle(commands, i)
        if (step) await step
        if ((i & 63) === 0) {
          checkAbort()
          progress(false)
        }
        if (session.stopped) {
          // END has no payload: input consumed ends right after its 10-byte header.
          bytes = commands[i].offset + 10
          post({ t: 'stop' })
          break input
        }
      }
      session.endBatch()
      checkAbort()
      bytes += chunk.length
      port.postMessage({ t: 'ack', n: chunk.length, b: chunk.buffer as ArrayBuffer } satisfies FromWorker, [chunk.buffer as ArrayBuffer])
      progress(false)
    }
    await session.close()
    progress(true)
    final = { t: 'done', subvolumes: session.received, commands: session.commands, bytes }
  } catch (err) {
    await session?.abort(err)
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
