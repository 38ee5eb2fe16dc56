// The receive state machine on the worker side: routes decoded commands to the subvolume
// lifecycle (SUBVOL/SNAPSHOT begin one, END or the next SUBVOL/SNAPSHOT or end of input finish
// it) or to the Applier; counts failures against maxErrors (0 = unlimited), turning each into a
// ReceiveError that names command, path, offset and subvolume. A subvolume that had any failure
// is never finished: it is discarded like one whose receive was aborted.
import { BtrfsError, fromNative, type ErrorCode } from '../errors.js'
import type { Command } from '../stream/commands.js'
import { Applier, FlushError } from './apply.js'
import type { Destination } from './destination.js'
import { IncomingSubvolume, type ReceivedSubvolume } from './incoming.js'
import { displayPath } from './path-guard.js'
import { ReceiveError } from './receive-error.js'

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
  /** Commands the last handle() consumed. */
  consumed = 1
  /** Set after END when stopAtEnd: the caller stops reading input. */
  stopped = false
  readonly #dest: Destination
  readonly #options: SessionOptions
  readonly #hooks: SessionHooks
  #current: Current | undefined
  #last: Command | undefined
  #failures = 0
  #lastFailure: ReceiveError | undefined

  constructor(dest: Destination, options: SessionOptions, hooks: SessionHooks) {
    this.#dest = dest
    this.#options = options
    this.#hooks = hooks
  }

  /** Display form of the last applied command's path; only valid while its input chunk is. */
  get lastPath(): string | undefined {
    const cmd = this.#last
    return cmd && 'path' in cmd ? displayPath(cmd.path) : undefined
  }

  get currentName(): string | undefined {
    return this.#current?.incoming.displayName
  }

  /**
   * Applies `batch[i]`; returns a Promise only for lifecycle commands and first-time clone
   * lookups. Returns how many commands it consumed through `consumed` (2 when the next one was
   * carried out together with it).
   */
  handle(batch: readonly Command[], i: number): void | Promise<void> {
    const cmd = batch[i]
    this.#last = cmd
    this.consumed = 1
    this.commands++
    switch (cmd.type) {
      case 'subvol':
      case 'snapshot':
        return this.#begin(cmd)
      case 'end':
        return this.#end()
    }
    const current = this.#current
    if (!current) {
      throw this.#wrap(cmd, new BtrfsError('BTRFS_RECEIVE_COMMAND_FAILED', 'file command before any SUBVOL or SNAPSHOT'))
    }
    if (cmd.type !== 'write') {
      // Gathered writes land before anything else happens, and fail as their own WRITE.
      try {
        current.applier.flush()
      } catch (err) {
        this.#failed(current, undefined, err)
      }
    }
    let pending: void | Promise<void>
    try {
      pending = current.applier.apply(cmd, batch, i)
      if (current.applier.fused) {
        current.applier.fused = false
        this.consumed = 2
        this.commands++
      }
    } catch (err) {
      return this.#failed(current, cmd, err)
    }
    if (pending) return pending.catch((err: unknown) => this.#failed(current, cmd, err))
  }

  /** Drops the reference to the last command (its input chunk is about to be reused). */
  forgetLast(): void {
    this.#last = undefined
  }

  /** Ends a batch of commands: gathered writes reach the file before their input is reused. */
  endBatch(): void {
    const current = this.#current
    if (!current) return
    try {
      current.applier.flush()
    } catch (err) {
      this.#failed(current, undefined, err)
    }
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
