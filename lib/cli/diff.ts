// `btrfs-stream diff [-f FILE] [--json]`: what an incremental send stream changes (diff()), as
// `zfs diff` lines or JSON Lines.
import { diff } from '../inspect/diff.js'
import { diffJson, diffLine } from '../inspect/format.js'
import { printLines, takeFileOption } from './line-output.js'

export const DIFF_USAGE = [
  'usage: btrfs-stream diff [-f FILE] [--json]',
  '',
  '    Print what an incremental btrfs send stream (with or without data) changes against its',
  '    parent snapshot, as zfs diff does: + added, - deleted, M modified, R renamed (old -> new).',
  '',
  '    -f FILE, --file FILE   read the stream from FILE instead of stdin',
  '    --json                 one JSON object per change: op, path, from, type, changes',
  '    -h, --help             print this help',
  '',
].join('\n')

export async function runDiff(args: string[]): Promise<number> {
  if (args.includes('-h') || args.includes('--help')) {
    process.stdout.write(DIFF_USAGE)
    return 0
  }
  let file: string | undefined
  let json = false
  for (let i = 0; i < args.length; i++) {
    const next = takeFileOption(args, i, (f) => (file = f))
    if (typeof next === 'string') return usageError(next)
    if (next !== undefined) i = next
    else if (args[i] === '--json') json = true
    else return usageError(`unrecognized option '${args[i]}'`)
  }
  return printLines(file, 'diff the send stream', async function* (input) {
    for await (const entry of diff(input)) yield json ? diffJson(entry) : diffLine(entry)
  })
}

function usageError(message: string): number {
  process.stderr.write(`ERROR: ${message}\n${DIFF_USAGE}`)
  return 1
}
