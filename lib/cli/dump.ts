// `btrfs-stream dump [-f FILE] [--json]`: the whole input (stdin by default) as
// `btrfs receive --dump` lines in the current progs format, continuing through concatenated
// streams, or as JSON Lines (output and errors: line-output.ts).
import { dump } from '../dump/dump.js'
import { printLines, takeFileOption } from './line-output.js'

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
    const next = takeFileOption(args, i, (f) => (out.file = f))
    if (typeof next === 'string') return next
    if (next !== undefined) i = next
    else if (a === '--json') out.json = true
    else if (a === '--no-verify-crc') out.verifyCrc = false
    else return `unrecognized option '${a}'`
  }
  return out
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
  return printLines(parsed.file, 'dump the send stream', (input) =>
    dump(input, { format: parsed.json ? 'json' : 'text', verifyCrc: parsed.verifyCrc }),
  )
}
