// `btrfs-stream dump [-f FILE] [--json]`: the whole input (stdin by default) as
// `btrfs receive --dump` lines in the current progs format, continuing through concatenated
// streams, or as JSON Lines (output and errors: line-output.ts).
import { dump } from '../dump/dump.js'
import { runLineCommand } from './line-output.js'

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

export function runDump(args: string[]): Promise<number> {
  return runLineCommand(args, DUMP_USAGE, { '--json': 'json', '--no-verify-crc': 'noCrc' }, 'dump the send stream', (input, given) =>
    dump(input, { format: given.has('json') ? 'json' : 'text', verifyCrc: !given.has('noCrc') }),
  )
}
