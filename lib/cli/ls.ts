// `btrfs-stream ls [-f FILE] [-l] [--json]`: the entries a send stream holds (list()), as
// `tar -t` (paths), `tar -tv` (-l) or JSON Lines.
import { list } from '../inspect/list.js'
import { createListFormatter, listJson } from '../inspect/format.js'
import { runLineCommand } from './line-output.js'

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

export function runLs(args: string[]): Promise<number> {
  return runLineCommand(args, LS_USAGE, { '-l': 'long', '--long': 'long', '--json': 'json' }, 'list the send stream', async function* (input, given) {
    const text = createListFormatter(given.has('long'))
    for await (const entry of list(input)) yield given.has('json') ? listJson(entry) : text(entry)
  })
}
