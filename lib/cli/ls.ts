// `btrfs-stream ls [-f FILE] [-l] [--json]`: the entries a send stream holds (list()), as
// `tar -t` (paths), `tar -tv` (-l) or JSON Lines.
import { list } from '../inspect/list.js'
import { createListFormatter, listJson } from '../inspect/format.js'
import { printLines, takeFileOption } from './line-output.js'

export const LS_USAGE = [
  'usage: btrfs-stream ls [-f FILE] [-l] [--json]',
  '',
  '    List the entries of a btrfs send stream by their final paths, as tar -t does: every',
  '    entry of a full stream, the entries an incremental stream creates or changes.',
  '',
  '    -f FILE, --file FILE   read the stream from FILE instead of stdin',
  '    -l, --long             type, mode, owner, size, mtime and link target, as tar -tv',
  '    --json                 one JSON object per entry',
  '    -h, --help             print this help',
  '',
].join('\n')

export async function runLs(args: string[]): Promise<number> {
  if (args.includes('-h') || args.includes('--help')) {
    process.stdout.write(LS_USAGE)
    return 0
  }
  let file: string | undefined
  let long = false
  let json = false
  for (let i = 0; i < args.length; i++) {
    const next = takeFileOption(args, i, (f) => (file = f))
    if (typeof next === 'string') return usageError(next)
    if (next !== undefined) i = next
    else if (args[i] === '-l' || args[i] === '--long') long = true
    else if (args[i] === '--json') json = true
    else return usageError(`unrecognized option '${args[i]}'`)
  }
  const text = createListFormatter(long)
  return printLines(file, 'list the send stream', async function* (input) {
    for await (const entry of list(input)) yield json ? listJson(entry) : text(entry)
  })
}

function usageError(message: string): number {
  process.stderr.write(`ERROR: ${message}\n${LS_USAGE}`)
  return 1
}
