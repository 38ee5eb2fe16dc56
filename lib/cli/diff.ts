// `btrfs-stream diff [-f FILE] [--json]`: what an incremental send stream changes (diff()), as
// `zfs diff` lines or JSON Lines.
import { diff } from '../inspect/diff.js'
import { diffJson, diffLine } from '../inspect/format.js'
import { runLineCommand } from './line-output.js'

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

export function runDiff(args: string[]): Promise<number> {
  return runLineCommand(args, DIFF_USAGE, { '--json': 'json' }, 'diff the send stream', async function* (input, given) {
    for await (const entry of diff(input)) yield given.has('json') ? diffJson(entry) : diffLine(entry)
  })
}
