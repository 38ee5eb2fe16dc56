// The replay journal. The applier's syscalls run on the queue thread behind the decoding one,
// so a failure surfaces after its command was handled. Each file command gets a sequence number
// (the tag of its records) and stays here until its records have run; after a QueueFailure the
// session replays the journal from the failed command with direct syscalls. Sequence numbers go
// on across subvolumes; the journal itself is emptied whenever the queue has run everything.
import type { Command } from '../../stream/commands.js'
import type { QueuedOps } from '../fs/queued-ops.js'

/**
 * Length at which the commands whose records have run are dropped (waiting for the older half
 * when the queue is that far behind). Bounded, so journaled commands do not outlive the young
 * generation and make every GC expensive.
 */
const JOURNAL_LIMIT = 1024

export class Journal {
  /** Sequence number (record tag) of the next command. */
  seq = 0
  /** Commands whose records may not have run yet, the last with tag seq - 1. */
  #entries: Command[] = []

  /** Journals `cmd`; returns its tag. */
  add(cmd: Command): number {
    this.#entries.push(cmd)
    return this.seq++
  }

  /** True once the journal should be trimmed before another command is added. */
  get full(): boolean {
    return this.#entries.length >= JOURNAL_LIMIT
  }

  /** Drops the commands whose records have run (see JOURNAL_LIMIT); may throw QueueFailure. */
  trim(ops: QueuedOps): void {
    const entries = this.#entries
    const base = this.seq - entries.length
    let done = ops.doneBelow()
    if (done - base < JOURNAL_LIMIT / 2) {
      ops.waitBelow(base + JOURNAL_LIMIT / 2)
      done = ops.doneBelow()
    }
    const n = Math.min(done - base, entries.length)
    if (n > 0) entries.splice(0, n)
  }

  /**
   * Empties the journal; returns what is to be replayed after a failure of tag `tag`: the
   * journaled commands and the index of the failed one among them.
   */
  takeFrom(tag: number): { commands: Command[]; from: number } {
    const commands = this.#entries
    this.#entries = []
    // A failed record's command is never trimmed (trimming only drops commands whose records
    // have all run); the bound is only a guard.
    return { commands, from: Math.max(0, tag - (this.seq - commands.length)) }
  }

  /** Everything journaled has run. */
  clear(): void {
    this.#entries = []
  }
}
