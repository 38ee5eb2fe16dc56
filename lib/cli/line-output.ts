// The line-printing subcommands (dump, ls, diff) in one runner: options (-h, -f FILE, flags),
// the input opened as progs opens it (stdin by default, a file checked up front), lines written
// in batches that honour stdout backpressure (a closed pipe, `| head`, ends the output quietly),
// and failures printed as progs prints them.
import fs from 'node:fs'

function errnoText(err: NodeJS.ErrnoException): string {
  const text: Record<string, string> = {
    ENOENT: 'No such file or directory',
    EACCES: 'Permission denied',
    EISDIR: 'Is a directory',
    ENOTDIR: 'Not a directory',
  }
  return (err.code && text[err.code]) ?? err.message
}

/** A file path is checked up front (progs' "cannot open" error) and then read by the parser. */
async function openInput(file: string | undefined): Promise<string | NodeJS.ReadStream> {
  if (file === undefined || file === '-') return process.stdin
  const handle = await fs.promises.open(file, 'r')
  await handle.close()
  return file
}

/**
 * Resolves on 'drain' or 'close', whichever comes first, and removes both listeners then: racing
 * two events.once() would leave the loser's listeners behind on every wait (a
 * MaxListenersExceededWarning after ten waits on a slow pipe).
 */
function drainedOrClosed(out: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      out.off('drain', done)
      out.off('close', done)
      resolve()
    }
    out.on('drain', done)
    out.on('close', done)
  })
}

/** Batched line writer on stdout. */
class LineOutput {
  #batch = ''
  closed = false
  readonly #out = process.stdout

  constructor() {
    this.#out.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') this.closed = true
    })
  }

  /** Queues a line; resolves once it may be followed by more (a full batch waits for drain). */
  async line(text: string): Promise<void> {
    this.#batch += text + '\n'
    if (this.#batch.length >= 65536) await this.flush()
  }

  async flush(): Promise<void> {
    if (this.#batch === '' || this.closed) return
    const ok = this.#out.write(this.#batch)
    this.#batch = ''
    if (!ok && !this.closed) await drainedOrClosed(this.#out)
  }
}

/** Options shared by commands that read one stream input: -f FILE and its spellings. */
function takeFileOption(args: string[], i: number, set: (file: string) => void): number | string | undefined {
  const a = args[i]
  if (a === '-f' || a === '--file') {
    if (i + 1 >= args.length) return `option '${a}' requires an argument`
    set(args[i + 1])
    return i + 1
  }
  if (a.startsWith('--file=')) {
    set(a.slice('--file='.length))
    return i
  }
  if (a.startsWith('-f') && a.length > 2) {
    set(a.slice(2))
    return i
  }
  return undefined
}

/**
 * Runs a line-producing command: opens the input, writes each line, and reports failures as
 * progs does (`ERROR: …` then `ERROR: failed to <what>`), exit code 1.
 */
async function printLines(
  file: string | undefined,
  what: string,
  lines: (input: string | NodeJS.ReadStream) => AsyncIterable<string>,
): Promise<number> {
  let input: string | NodeJS.ReadStream
  try {
    input = await openInput(file)
  } catch (err) {
    process.stderr.write(`ERROR: cannot open ${file}: ${errnoText(err as NodeJS.ErrnoException)}\n`)
    return 1
  }
  const out = new LineOutput()
  try {
    for await (const text of lines(input)) {
      await out.line(text)
      if (out.closed) break
    }
    await out.flush()
  } catch (err) {
    await out.flush()
    const e = err as NodeJS.ErrnoException
    const message = e.syscall ? `cannot read ${file ?? 'stdin'}: ${errnoText(e)}` : e.message
    process.stderr.write(`ERROR: ${message}\nERROR: failed to ${what}\n`)
    return 1
  }
  return 0
}

/**
 * A whole line-printing subcommand: -h/--help, -f FILE, the boolean `flags` (each spelling
 * mapped to its name), usage errors, then printLines() with the flags that were given.
 */
export async function runLineCommand(
  args: string[],
  usage: string,
  flags: Record<string, string>,
  what: string,
  lines: (input: string | NodeJS.ReadStream, given: Set<string>) => AsyncIterable<string>,
): Promise<number> {
  if (args.includes('-h') || args.includes('--help')) {
    process.stdout.write(usage)
    return 0
  }
  let file: string | undefined
  const given = new Set<string>()
  for (let i = 0; i < args.length; i++) {
    const next = takeFileOption(args, i, (f) => (file = f))
    const problem = typeof next === 'string' ? next : next === undefined && !Object.hasOwn(flags, args[i]) ? `unrecognized option '${args[i]}'` : undefined
    if (problem !== undefined) {
      process.stderr.write(`ERROR: ${problem}\n${usage}`)
      return 1
    }
    if (typeof next === 'number') i = next
    else given.add(flags[args[i]])
  }
  return printLines(file, what, (input) => lines(input, given))
}
