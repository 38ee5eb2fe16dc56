// The receive state machine on the worker side: routes decoded commands to the subvolume
// lifecycle (SUBVOL/SNAPSHOT begin one, END or the next SUBVOL/SNAPSHOT or end of input finish
// it) or to the Applier; counts failures against maxErrors (0 = unlimited), turning each into a
// ReceiveError that names command, path, offset and subvolume. A subvolume that had any failure
// is never finished: it is discarded like one whose receive was aborted.
//
// The applier's syscalls are queued to a native thread (fs/queued-ops.ts), so a failure surfaces
// later than its command: file commands are journaled (journal.ts) until their records have run;
// on a QueueFailure the applier drops its fd caches and the journal is replayed from the failed
// command with direct syscalls, which fail (or take their fallback) exactly as the unqueued
// receiver does, in stream order.
import { BtrfsError, fromNative, type ErrorCode } from '../../errors.js'
import type { Command } from '../../stream/commands.js'
import { Applier, FlushError } from '../fs/apply.js'
import { QueueFailure } from '../fs/queued-ops.js'
import type { Destination } from '../fs/destination.js'
import { IncomingSubvolume, type ReceivedSubvolume } from '../fs/incoming.js'
import { displayPath } from '../fs/path-guard.js'
import { Journal } from './journal.js'
import { ReceiveError } from './receive-error.js'

const one = (): number => 1

export interface SessionOptions {
  maxErrors: number
  keepPartial: boolean
  stopAtEnd: boolean
  forceDecompress: boolean
}

export interface SessionHooks {
  warn(code: string, message: string, error?: ReceiveError): void
  subvolume(name: string | undefined): void
}

interface Current {
  incoming: IncomingSubvolume
  applier: Applier
  failures: number
}

export class Session {
  readonly received: ReceivedSubvolume[] = []
  commands = 0
  /** Set after END when stopAtEnd: the caller stops reading input. */
  stopped = false
  readonly #dest: Destination
  readonly #options: SessionOptions
  readonly #hooks: SessionHooks
  #current: Current | undefined
  /** Points into its input chunk: dropped by detachLast() before that chunk is released. */
  #last: Command | undefined
  /** lastPath of a command detachLast() dropped. */
  #lastText: string | undefined
  #failures = 0
  readonly #journal = new Journal()
  /** The journal's seq when the previous input chunk ended. */
  #chunkBoundary = 0
  #lastFailure: ReceiveError | undefined

  constructor(dest: Destination, options: SessionOptions, hooks: SessionHooks) {
    this.#dest = dest
    this.#options = options
    this.#hooks = hooks
  }

  /** Display form of the last applied command's path. */
  get lastPath(): string | undefined {
    const cmd = this.#last
    if (cmd === undefined) return this.#lastText
    return 'path' in cmd ? displayPath(cmd.path) : undefined
  }

  get currentName(): string | undefined {
    return this.#current?.incoming.displayName
  }

  /**
   * Applies `batch[i]`; returns how many commands it consumed (2 when the next one was carried
   * out together with it), as a Promise only for lifecycle commands, first-time clone lookups
   * and replays.
   */
  handle(batch: readonly Command[], i: number): number | Promise<number> {
    const cmd = batch[i]
    this.#last = cmd
    this.commands++
    switch (cmd.type) {
      case 'subvol':
      case 'snapshot':
        return this.#begin(cmd).then(one)
      case 'end':
        return this.#end().then(one)
    }
    const current = this.#current
    if (!current) {
      throw this.#wrap(cmd, new BtrfsError('BTRFS_RECEIVE_COMMAND_FAILED', 'file command before any SUBVOL or SNAPSHOT'))
    }
    if (this.#journal.full) {
      try {
        this.#journal.trim(current.applier.ops)
      } catch (err) {
        if (!(err instanceof QueueFailure)) throw err
        return this.#replay(current, err.tag).then(() => this.#file(current, batch, i))
      }
    }
    return this.#file(current, batch, i)
  }

  /** handle() for a file command. */
  #file(current: Current, batch: readonly Command[], i: number): number | Promise<number> {
    const cmd = batch[i]
    const { applier } = current
    const journal = this.#journal
    applier.ops.tag = journal.add(cmd)
    if (cmd.type !== 'write') {
      // Gathered writes land before anything else happens, and fail as their own WRITE.
      try {
        applier.flush()
      } catch (err) {
        // A replay re-applies this command too; otherwise (-E) it still runs.
        const replay = this.#onError(current, undefined, err)
        if (replay) return replay.then(one)
      }
    }
    let n: number | Promise<number>
    try {
      n = applier.apply(batch, i)
    } catch (err) {
      const replay = this.#onError(current, cmd, err)
      return replay ? replay.then(one) : 1
    }
    if (typeof n !== 'number') return n.catch((err: unknown) => this.#onError(current, cmd, err)).then(one)
    if (n === 2) {
      // The next command was carried out with this one, under this one's tag.
      this.commands++
      journal.add(batch[i + 1])
    }
    return n
  }

  /**
   * A command failed: a QueueFailure is replayed from its command; any other error is reported
   * after what was queued before it has run (an earlier command's failure comes first).
   */
  #onError(current: Current, cmd: Command | undefined, err: unknown): void | Promise<void> {
    const failure = err instanceof QueueFailure ? err : current.applier.ops.settle()
    if (failure === undefined) return this.#failed(current, cmd, err)
    return this.#replay(current, failure.tag)
  }

  /** Re-applies the journal from tag `tag` on with direct syscalls after a QueueFailure (see the header). */
  async #replay(current: Current, tag: number): Promise<void> {
    const { applier } = current
    const { commands, from } = this.#journal.takeFrom(tag)
    applier.recover()
    applier.ops.replaying = true
    try {
      for (let j = from; j < commands.length; ) {
        const cmd = commands[j]
        if (cmd.type !== 'write') this.#flushDirect(current)
        let n = 1
        try {
          const r = applier.apply(commands, j)
          n = typeof r === 'number' ? r : await r
        } catch (err) {
          this.#failed(current, cmd, err)
        }
        j += n
      }
      // Nothing replayed may stay gathered: its journal is gone.
      this.#flushDirect(current)
    } finally {
      applier.ops.replaying = false
    }
  }

  /** Replaying: gathered writes land now, a failure counts against their WRITE. */
  #flushDirect(current: Current): void {
    try {
      current.applier.flush()
    } catch (err) {
      this.#failed(current, undefined, err)
    }
  }

  /** Hands gathered writes on (queued, or written when direct); a failure is handled as any. */
  async #flush(current: Current): Promise<void> {
    try {
      current.applier.flush()
    } catch (err) {
      await this.#onError(current, undefined, err)
    }
  }

  /** Runs everything queued, replaying on a failure; afterwards the journal is empty. */
  async #settle(current: Current): Promise<void> {
    await this.#flush(current)
    const failure = current.applier.ops.settle()
    if (failure !== undefined) await this.#replay(current, failure.tag)
    this.#journal.clear()
  }

  /**
   * Ends an input chunk: gathered writes are queued, and every record of the chunk before this
   * one has run, so that chunk's buffer may be reused (this one's stays referenced until the
   * next endChunk() or drain()).
   */
  async endChunk(): Promise<void> {
    const current = this.#current
    if (!current) return
    await this.#flush(current)
    const boundary = this.#chunkBoundary
    this.#chunkBoundary = this.#journal.seq
    try {
      current.applier.ops.waitBelow(boundary)
    } catch (err) {
      if (!(err instanceof QueueFailure)) throw err
      await this.#replay(current, err.tag)
    }
  }

  /** Runs everything queued (replaying on a failure): no input chunk is referenced any more. */
  async drain(): Promise<void> {
    const current = this.#current
    if (current) await this.#settle(current)
  }

  /**
   * Keeps only the text of the last command's path: its input chunk is released while later
   * chunks may bring no complete command (a long WRITE), and progress still shows its path.
   */
  detachLast(): void {
    this.#lastText = this.lastPath
    this.#last = undefined
  }

  /** Forgets the last command (the receive is over). */
  forgetLast(): void {
    this.#last = undefined
    this.#lastText = undefined
  }

  /** End of input: finishes the subvolume in progress (the decoder already vouched for END). */
  async close(): Promise<void> {
    await this.#finishCurrent()
  }

  /** Abandons the subvolume in progress; records where a kept partial is on `err`. */
  async abort(err: unknown): Promise<void> {
    const current = this.#current
    this.#current = undefined
    if (!current) return
    current.applier.close()
    let kept: string | undefined
    try {
      kept = await current.incoming.discard(this.#options.keepPartial)
    } catch (cleanup) {
      if (err instanceof Error) err.message += ` (and deleting the partial subvolume failed: ${(cleanup as Error).message})`
      return
    }
    if (err instanceof Error) {
      if (kept !== undefined) {
        Object.assign(err, { partialPath: kept })
        err.message += ` (partial subvolume kept at '${kept}', not marked received)`
      }
      if (err instanceof ReceiveError && err.subvolume === undefined) err.subvolume = current.incoming.displayName
    }
  }

  async #begin(cmd: Extract<Command, { type: 'subvol' | 'snapshot' }>): Promise<void> {
    await this.#finishCurrent()
    let incoming: IncomingSubvolume
    try {
      incoming = await IncomingSubvolume.begin(this.#dest, cmd)
    } catch (err) {
      throw this.#wrap(cmd, err)
    }
    const applier = new Applier(incoming.rootFd, {
      forceDecompress: this.#options.forceDecompress,
      subvolumeUuid: incoming.uuid,
      cloneRoot: (uuid) => this.#dest.subvolumeByUuid(uuid, 'clone source').then((s) => s.fd),
      warn: (code, message) => this.#hooks.warn(code, message),
    })
    // Tags go on across subvolumes: a new queue has run everything below its first tag.
    applier.ops.start(this.#journal.seq)
    this.#journal.clear()
    this.#current = { incoming, applier, failures: 0 }
    this.#hooks.subvolume(incoming.displayName)
  }

  async #end(): Promise<void> {
    await this.#finishCurrent()
    if (this.#options.stopAtEnd) this.stopped = true
  }

  async #finishCurrent(): Promise<void> {
    const current = this.#current
    if (!current) return
    await this.#settle(current)
    if (current.failures > 0) {
      const last = this.#lastFailure!
      const err = new ReceiveError(
        last.code as ErrorCode,
        `subvolume '${current.incoming.displayName}' is incomplete: ${current.failures} command(s) failed; last: ${last.message}`,
        { cause: last, command: last.command, path: last.path, offset: last.offset, commandIndex: last.commandIndex, subvolume: current.incoming.displayName },
      )
      throw err
    }
    try {
      current.applier.finish()
      const done = await current.incoming.finish()
      this.#current = undefined
      this.received.push(done)
      this.#hooks.subvolume(undefined)
    } catch (err) {
      if (err instanceof FlushError) throw this.#wrap(err.command, err.failure, current.incoming.displayName)
      throw this.#wrap(undefined, err, current.incoming.displayName, 'finishing')
    }
  }

  #failed(current: Current, cmd: Command | undefined, err: unknown): void {
    if (err instanceof FlushError) {
      cmd = err.command
      err = err.failure
    }
    const wrapped = this.#wrap(cmd, err)
    this.#failures++
    current.failures++
    this.#lastFailure = wrapped
    if (this.#options.maxErrors !== 0 && this.#failures >= this.#options.maxErrors) throw wrapped
    this.#hooks.warn(wrapped.code, wrapped.message, wrapped)
  }

  #wrap(cmd: Command | undefined, err: unknown, subvolume = this.currentName, verb?: string): ReceiveError {
    if (err instanceof ReceiveError) return err
    const path = cmd && 'path' in cmd ? displayPath(cmd.path) : undefined
    const cause = fromNative(err, path)
    const code = cause instanceof BtrfsError && /^BTRFS_RECEIVE_/.test(cause.code) ? (cause.code as ErrorCode) : 'BTRFS_RECEIVE_COMMAND_FAILED'
    const what = cmd ? `${cmd.type}${path !== undefined ? ` '${path}'` : ''}` : `${verb ?? 'receiving'} subvolume '${subvolume}'`
    const where = cmd ? ` (offset ${cmd.offset}, command #${cmd.index}${subvolume ? `, subvolume '${subvolume}'` : ''})` : ''
    return new ReceiveError(code, `${what} failed: ${(cause as Error).message ?? String(cause)}${where}`, {
      cause,
      command: cmd?.type,
      path,
      offset: cmd?.offset,
      commandIndex: cmd?.index,
      subvolume,
    })
  }
}
