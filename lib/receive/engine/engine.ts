// The receive loop, shared by the worker thread (worker.ts) and the CLI's in-thread receiver
// (receive-fd.ts): decodes input chunks with StreamDecoder and hands the commands to a Session
// through a small window. The session's syscalls run on a queue thread behind it: when chunk()
// returns, nothing refers into the chunk before that one any more (its writes have landed), so
// that buffer may be reused; drain() releases the last one as well.
import { AbortError } from '../../errors.js'
import type { Command } from '../../stream/commands.js'
import { StreamDecoder } from '../../stream/decoder.js'
import '../../stream/crc32c-native.js'
import type { Destination } from '../fs/destination.js'
import type { ReceivedSubvolume } from '../fs/incoming.js'
import type { ReceiveError } from './receive-error.js'
import { Session } from './session.js'

export interface EngineOptions {
  maxErrors: number
  keepPartial: boolean
  stopAtEnd: boolean
  forceDecompress: boolean
  maxCommandLength?: number
  /** False when the caller's thread already checked every command's CRC (lib/stream/frame-check.ts) before handing it over. */
  verifyCrc: boolean
  progressIntervalMs: number
}

export interface ProgressRecord {
  bytes: number
  commands: number
  subvolume: string | undefined
  subvolumesDone: number
  /** Stream path of the last command applied (display form), if it had one. */
  path: string | undefined
}

/** Commands the session sees at once: the current one and those right after it. */
const WINDOW = 32

export interface EngineHooks {
  progress(p: ProgressRecord): void
  warning(code: string, message: string, error?: ReceiveError): void
  /** True once the receive was aborted; looked at between batches of commands. */
  aborted(): boolean
}

export interface EngineResult {
  subvolumes: ReceivedSubvolume[]
  commands: number
  bytes: number
}

/**
 * A command that straddled two chunks lives in the decoder's reused buffer, which the next
 * straddle overwrites, possibly while the command still waits in the window: copy its bytes.
 * Only the (at most one) command that started before the chunk did; all others are views into
 * the chunk itself.
 */
function ownedBytes(cmd: Command): Command {
  const fields = cmd as unknown as Record<string, unknown>
  for (const key in fields) {
    const v = fields[key]
    if (Buffer.isBuffer(v)) fields[key] = Buffer.from(v)
  }
  return cmd
}

export class ReceiveEngine {
  readonly session: Session
  /** Input bytes applied so far. */
  bytes = 0
  /** Set once stopAtEnd stopped at the first END: read no further input. */
  stopped = false
  readonly #options: EngineOptions
  readonly #hooks: EngineHooks
  readonly #decoder: StreamDecoder
  #lastProgress = 0
  /** Input offset where the current chunk starts (command offsets count from the input's start). */
  #chunkStart = 0

  constructor(dest: Destination, options: EngineOptions, hooks: EngineHooks) {
    this.#options = options
    this.#hooks = hooks
    this.session = new Session(dest, options, {
      warn: (code, message, error) => hooks.warning(code, message, error),
      subvolume: () => this.#progress(true),
    })
    this.#decoder = new StreamDecoder({
      maxCommandLength: options.maxCommandLength,
      allowUnknownCommands: false,
      // Without verifyCrc the caller's thread checked every CRC already (frame-check.ts).
      verifyCrc: options.verifyCrc,
      onWarning: (w) => hooks.warning(w.code, w.message),
    })
  }

  /** Throws AbortError once the receive was aborted. */
  checkAbort(): void {
    if (this.#hooks.aborted()) throw new AbortError()
  }

  /**
   * Applies every complete command of `chunk` (the rest waits in the decoder for the next
   * chunk). Returns false once stopAtEnd stopped at the first END: read no further input.
   */
  async chunk(chunk: Uint8Array): Promise<boolean> {
    this.checkAbort()
    const { session } = this
    const decoder = this.#decoder
    // Pull mode through a small window: commands die young (no GC promotion of a whole chunk's
    // worth), and the window still shows the session the commands right after the current one.
    decoder.write(chunk)
    const chunkStart = this.#chunkStart
    this.#chunkStart += chunk.length
    const window: Command[] = []
    let more = true
    let n = 0
    for (;;) {
      while (more && window.length < WINDOW) {
        const cmd = decoder.next()
        if (cmd === undefined) more = false
        else window.push(cmd.offset < chunkStart ? ownedBytes(cmd) : cmd)
        // With stopAtEnd nothing after the first END is read: it need not be a stream at all.
        if (cmd?.type === 'end' && this.#options.stopAtEnd) more = false
      }
      if (window.length === 0) break
      const step = session.handle(window, 0)
      const done = window.splice(0, typeof step === 'number' ? step : await step)
      if ((n++ & 63) === 0) {
        this.checkAbort()
        this.#progress(false)
      }
      if (session.stopped) {
        // END has no payload: input consumed ends right after its 10-byte header.
        this.bytes = done[0].offset + 10
        this.stopped = true
        return false
      }
    }
    await session.endChunk()
    this.checkAbort()
    this.bytes += chunk.length
    this.#progress(false)
    // The last command may point into this chunk, which is released after the next one.
    session.detachLast()
    return true
  }

  /** Runs every queued syscall: afterwards no input chunk is referenced. */
  async drain(): Promise<void> {
    this.checkAbort()
    await this.session.drain()
  }

  /** End of input (or stop at END): finishes the subvolume in progress. */
  async finish(): Promise<EngineResult> {
    this.checkAbort()
    if (!this.stopped) this.#decoder.end()
    await this.session.close()
    this.session.forgetLast()
    this.#progress(true)
    return { subvolumes: this.session.received, commands: this.session.commands, bytes: this.bytes }
  }

  /** Abandons the subvolume in progress (see Session.abort). */
  abort(err: unknown): Promise<void> {
    return this.session.abort(err)
  }

  #progress(force: boolean): void {
    const now = Date.now()
    if (!force && now - this.#lastProgress < this.#options.progressIntervalMs) return
    this.#lastProgress = now
    const s = this.session
    this.#hooks.progress({ bytes: this.bytes, commands: s.commands, subvolume: s.currentName, subvolumesDone: s.received.length, path: s.lastPath })
  }
}
