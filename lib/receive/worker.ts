// Entry of the receive worker thread: pulls input chunks from the caller, decodes them with
// StreamDecoder and applies each command synchronously (native *at syscalls), so a long receive
// never blocks the caller's event loop and pays no promise per syscall. Reports progress,
// warnings and the result as messages; on any failure it discards the subvolume in progress
// before reporting the error.
import { parentPort, workerData } from 'node:worker_threads'
import { AbortError } from '../errors.js'
import type { Command } from '../stream/commands.js'
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

/** Commands the session sees at once: the current one and those right after it. */
const WINDOW = 32

/**
 * A command that straddled two chunks lives in the decoder's reused buffer, which the next
 * straddle overwrites, possibly while the command still waits in the window: copy its bytes.
 * (At most one command per chunk; all others are views into the chunk itself.)
 */
function ownedBytes(cmd: Command, chunk: Uint8Array): Command {
  const fields = cmd as unknown as Record<string, unknown>
  for (const key in fields) {
    const v = fields[key]
    if (Buffer.isBuffer(v) && v.buffer !== chunk.buffer) fields[key] = Buffer.from(v)
  }
  return cmd
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
    post({ t: 'progress', p: { bytes, commands: session?.commands ?? 0, subvolume: session?.currentName, subvolumesDone: session?.received.length ?? 0, path: session?.lastPath } })
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
      verifyCrc: options.verifyCrc,
      // The caller's verifier reports these when it runs (verifyCrc false); not twice.
      onWarning: options.verifyCrc ? (w) => post({ t: 'warning', w: { code: w.code, message: w.message } }) : undefined,
    })
    input: for (;;) {
      const pending = nextChunk()
      const chunk = pending instanceof Promise ? await pending : pending
      checkAbort()
      if (chunk === null) {
        decoder.end()
        break
      }
      // Pull mode through a small window: commands die young (no GC promotion of a whole chunk's
      // worth), and the window still shows the session the commands right after the current one.
      decoder.write(chunk)
      const window: Command[] = []
      let more = true
      let n = 0
      for (;;) {
        while (more && window.length < WINDOW) {
          const cmd = decoder.next()
          if (cmd === undefined) more = false
          else window.push(ownedBytes(cmd, chunk))
          // With stopAtEnd nothing after the first END is read: it need not be a stream at all.
          if (cmd?.type === 'end' && options.stopAtEnd) more = false
        }
        if (window.length === 0) break
        const step = session.handle(window, 0)
        if (step) await step
        const done = window.splice(0, session.consumed)
        if ((n++ & 63) === 0) {
          checkAbort()
          progress(false)
        }
        if (session.stopped) {
          // END has no payload: input consumed ends right after its 10-byte header.
          bytes = done[0].offset + 10
          post({ t: 'stop' })
          break input
        }
      }
      session.endBatch()
      checkAbort()
      bytes += chunk.length
      // Before the ack: the last command's path points into the chunk handed back with it.
      progress(false)
      port.postMessage({ t: 'ack', n: chunk.length, b: chunk.buffer as ArrayBuffer } satisfies FromWorker, [chunk.buffer as ArrayBuffer])
    }
    await session.close()
    session.forgetLast()
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
