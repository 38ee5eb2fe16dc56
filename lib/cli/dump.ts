// `btrfs-stream dump [-f FILE] [--json]`: the whole input (stdin by default) as
// `btrfs receive --dump` lines in the current progs format, continuing through concatenated
// streams, or as JSON Lines. Output is batched and honours stdout backpressure; a closed pipe
// (`| head`) ends quietly.
import fs from 'node:fs'
import { dump } from '../dump/dump.js'

export const DUMP_USAGE = [
  'usage: btrfs-stream dump [-f FILE] [--json]',
  '',
  '    Print every command of a btrfs send stream, one line each, exactly as',
  "    'btrfs receive --dump' (btrfs-progs 6.9.1+) does, through all concatenated streams.",
  '',
  '    -f FILE, --file FILE   read the stream from FILE instead of stdin',
  '    --json                 one JSON object per command (every attribute) instead of text',
  '    --no-verify-crc        skip CRC32C checks',
  '    -h, --help             print this help',
  '',
].join('\n')

interface DumpArgs {
  file?: string
  json: boolean
  verifyCrc: boolean
}

function parseArgs(args: string[]): DumpArgs | string {
  const out: DumpArgs = { json: false, verifyCrc: true }
  for (let i = 0; i < args.length; i++) {
    const a = args[i]
    if (a === '-f' || a === '--file') {
      if (i + 1 >= args.length) return `option '${a}' requires an argument`
      out.file = args[++i]
    } else if (a.startsWith('--file=')) {
      out.file = a.slice('--file='.length)
    } else if (a.startsWith('-f') && a.length > 2) {
      out.file = a.slice(2)
    } else if (a === '--json') {
      out.json = true
    } else if (a === '--no-verify-crc') {
      out.verifyCrc = false
    } else {
      return `unrecognized option '${a}'`
    }
  }
  return out
}

function errnoText(err: NodeJS.ErrnoException): string {
  const text: Record<string, string> = {
    ENOENT: 'No such file or directory',
    EACCES: 'Permission denied',
    EISDIR: 'Is a directory',
    ENOTDIR: 'Not a directory',
  }
  return (err.code && text[err.code]) ?? err.message
}

/** A file path is checked up front (progs' "cannot open" error) and then read by parse itself. */
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

export async function runDump(args: string[]): Promise<number> {
  if (args.includes('-h') || args.includes('--help')) {
    process.stdout.write(DUMP_USAGE)
    return 0
  }
  const parsed = parseArgs(args)
  if (typeof parsed === 'string') {
    process.stderr.write(`ERROR: ${parsed}\n${DUMP_USAGE}`)
    return 1
  }
  let input: string | NodeJS.ReadStream
  try {
    input = await openInput(parsed.file)
  } catch (err) {
    process.stderr.write(`ERROR: cannot open ${parsed.file}: ${errnoText(err as NodeJS.ErrnoException)}\n`)
    return 1
  }

  const out = process.stdout
  let closed = false
  out.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') closed = true
  })
  let batch = ''
  const flush = async (): Promise<void> => {
    if (batch === '' || closed) return
    const ok = out.write(batch)
    batch = ''
    if (!ok && !closed) await drainedOrClosed(out)
  }
  try {
    for await (const line of dump(input, { format: parsed.json ? 'json' : 'text', verifyCrc: parsed.verifyCrc })) {
      batch += line + '\n'
      if (batch.length >= 65536) await flush()
      if (closed) break
    }
    await flush()
  } catch (err) {
    await flush()
    const e = err as NodeJS.ErrnoException
    const message = e.syscall ? `cannot read ${parsed.file ?? 'stdin'}: ${errnoText(e)}` : e.message
    process.stderr.write(`ERROR: ${message}\nERROR: failed to dump the send stream\n`)
    return 1
  }
  return 0
}
