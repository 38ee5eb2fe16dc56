// `btrfs-stream send [-ve] [-p PARENT] [-c SRC]... [-f OUT] [--proto N|latest] [--compressed-data]
// [--no-data] [-q] SUBVOL...`: btrfs send's flags and output bytes, written by sendToFd into the
// target openSendTarget() opens. stderr gets `At subvol X` per subvolume as btrfs send prints
// it (unless -q) and, on a terminal, a progress bar whose percent and ETA come from estimate().
// SIGINT/SIGTERM abort the send; a partial output file is removed.
import path from 'node:path'
import { parseArgs } from 'node:util'
import { kernelSendProtocol } from '../send/protocol.js'
import type { SendOptions, SendProgress } from '../send/index.js'
import { sendProgressLine, StatusLine, human } from './progress.js'
import { openSendTarget, TargetError } from './send-target.js'

export const SEND_USAGE = [
  'usage: btrfs-stream send [-ve] [-p PARENT] [-c CLONE_SRC]... [-f OUTFILE] SUBVOL...',
  '',
  "    Send the read-only subvolume(s) SUBVOL as 'btrfs send' does, byte for byte, to stdout",
  '    or to OUTFILE. Incremental with -p; -c adds clone sources (and picks a parent when -p',
  '    is not given).',
  '',
  '    -e                     several subvolumes as one stream (no END between them)',
  '    -p PARENT              send an incremental stream from PARENT',
  '    -c CLONE_SRC           allow cloning from this snapshot (repeatable)',
  '    -f OUTFILE             write to OUTFILE instead of stdout (which must not be a terminal)',
  '                           or s3://BUCKET/KEY: upload it with its manifest (see restore)',
  '    --proto N|latest       stream version: 1 (default), 2, or latest (also 0)',
  '    --compressed-data      send compressed extents as they are (implies --proto 2)',
  '    --no-data              metadata only: file data becomes UPDATE_EXTENT commands',
  '    -q, --quiet            no messages, no progress bar',
  '    -v, --verbose          also print the protocol version',
  '    -h, --help             print this help',
  '',
].join('\n')

interface SendArgs {
  subvolumes: string[]
  file: string | undefined
  options: Omit<SendOptions, 'highWaterMark'>
  quiet: boolean
  verbose: boolean
}

function parse(args: string[]): SendArgs | string {
  let parsed
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        e: { type: 'boolean', short: 'e' },
        p: { type: 'string', short: 'p' },
        c: { type: 'string', short: 'c', multiple: true },
        f: { type: 'string', short: 'f' },
        proto: { type: 'string' },
        'compressed-data': { type: 'boolean' },
        'no-data': { type: 'boolean' },
        quiet: { type: 'boolean', short: 'q' },
        verbose: { type: 'boolean', short: 'v' },
      },
    })
  } catch (err) {
    return (err as Error).message
  }
  const { values, positionals } = parsed
  if (positionals.length === 0) return 'send needs path to snapshot'
  let protocol: SendOptions['protocol']
  if (values.proto !== undefined) {
    if (values.proto === 'latest' || values.proto === '0') protocol = 'latest'
    else if (values.proto === '1' || values.proto === '2') protocol = Number(values.proto) as 1 | 2
    else return `--proto must be 1, 2, 0 or latest, got '${values.proto}'`
  }
  return {
    subvolumes: positionals,
    file: values.f,
    quiet: values.quiet === true,
    verbose: values.verbose === true,
    options: {
      parent: values.p,
      cloneSources: values.c,
      protocol,
      compressed: values['compressed-data'] === true,
      noFileData: values['no-data'] === true,
      singleStream: values.e === true,
    },
  }
}

export async function runSend(args: string[]): Promise<number> {
  if (args.includes('-h') || args.includes('--help')) {
    process.stdout.write(SEND_USAGE)
    return 0
  }
  const parsed = parse(args)
  if (typeof parsed === 'string') {
    process.stderr.write(`ERROR: ${parsed}\n${SEND_USAGE}`)
    return 1
  }
  let target
  try {
    target = openSendTarget(parsed.file)
  } catch (err) {
    if (!(err instanceof TargetError)) throw err
    process.stderr.write(`ERROR: ${err.message}\n`)
    return 1
  }
  const status = new StatusLine(process.stderr, !parsed.quiet && process.stderr.isTTY === true)
  const say = (line: string) => {
    if (parsed.quiet) return
    status.clear()
    process.stderr.write(`${line}\n`)
  }
  if (parsed.verbose) {
    const p = parsed.options.protocol
    say(`Protocol version requested: ${p === 'latest' ? 0 : p ?? (parsed.options.compressed ? 2 : 1)} (supported ${kernelSendProtocol()})`)
  }
  const controller = new AbortController()
  const onSignal = () => controller.abort(new Error('interrupted'))
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  const started = Date.now()
  const bar = !parsed.quiet && process.stderr.isTTY === true
  // btrfs send names each subvolume as given on the command line as it starts sending it.
  const given = new Map(parsed.subvolumes.map((s) => [path.resolve(s), s]))
  let current: string | undefined
  const onProgress = (p: SendProgress) => {
    if (p.subvolume !== current) {
      current = p.subvolume
      say(`At subvol ${given.get(p.subvolume) ?? p.subvolume}`)
    }
    status.draw(sendProgressLine(p, Date.now() - started, status.width))
  }
  try {
    const sent = await target.send(parsed.subvolumes, { ...parsed.options, signal: controller.signal, estimate: bar, onProgress })
    status.clear()
    if (parsed.verbose) say(`sent ${human(sent)} in ${((Date.now() - started) / 1000).toFixed(1)} s`)
    return 0
  } catch (err) {
    status.clear()
    target.discard()
    process.stderr.write(`ERROR: ${err instanceof Error ? err.message : String(err)}\n`)
    return 1
  } finally {
    process.removeListener('SIGINT', onSignal)
    process.removeListener('SIGTERM', onSignal)
    target.close()
  }
}
