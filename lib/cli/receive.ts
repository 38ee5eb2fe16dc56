// `btrfs-stream receive [options] DEST`: a drop-in for `btrfs receive`, taking every option it
// takes with the same meaning and printing its `At subvol`/`At snapshot` lines, over receiveFd()
// (receive() applied in this thread). On a TTY, stderr also shows one progress line (bytes,
// rate, commands, current subvolume), redrawn at most 5 times a second. Errors print as
// `ERROR: …` with exit code 1. SIGINT/SIGTERM abort the receive (the partial is deleted).
import fs from 'node:fs'
import type { Readable } from 'node:stream'
import type { ReceivedSubvolume } from '../receive/fs/incoming.js'
import type { ReceiveOptions, ReceiveProgress } from '../receive/api/options.js'
import { receive } from '../receive/api/receive.js'
import { receiveFd } from '../receive/api/receive-fd.js'
import { ArgvError, parseArgv, type OptionSpec } from './argv.js'
import { isS3Url, openS3Source } from './s3-url.js'
import { human, progressLine } from './progress.js'

export { progressLine }

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory()
  } catch {
    return false
  }
}

export const RECEIVE_USAGE = [
  'usage: btrfs-stream receive [options] DEST',
  '       btrfs-stream receive --dump [options]',
  '',
  '    Receive the subvolume(s) of a btrfs send stream into directory DEST, as',
  "    'btrfs receive' does, with the same options: read-only, with received uuids,",
  '    every path confined to DEST.',
  '',
  '    -f FILE                read the stream from FILE instead of stdin (also --file);',
  '                           s3://BUCKET/KEY downloads a backup made by upload() or send -f s3://',
  '    -e                     stop at the first END command',
  '    -E N, --max-errors N   stop after N failed commands (default 1; 0 = never)',
  '    -C, --chroot           accepted: every path is already confined beneath DEST',
  '                           (openat2 RESOLVE_BENEATH), which is stronger than chroot',
  '    -m ROOTMOUNT           accepted (must be a directory): the mount is found from DEST',
  '    --force-decompress     decompress encoded writes instead of writing them as they are',
  '    --dump                 print the stream as btrfs receive --dump does; no DEST',
  '    -v                     also print each subvolume\'s received uuid and stransid',
  '                           (not the per-command lines of btrfs receive -v)',
  '    -q, --quiet            print only errors: no At subvol lines, no progress line',
  '    --keep-partial         keep a failed subvolume (writable, not received)',
  '    -h, --help             print this help',
  '',
  "    As btrfs receive, it prints 'At subvol NAME' (stderr) or 'At snapshot NAME' (stdout)",
  '    for each subvolume; on a terminal, stderr also shows a progress line.',
  '',
].join('\n')

const OPTIONS: readonly OptionSpec[] = [
  { name: 'file', short: 'f', long: 'file', value: true },
  { name: 'stopAtEnd', short: 'e', value: false },
  { name: 'maxErrors', short: 'E', long: 'max-errors', value: true },
  { name: 'chroot', short: 'C', long: 'chroot', value: false },
  { name: 'rootMount', short: 'm', value: true },
  { name: 'forceDecompress', long: 'force-decompress', value: false },
  { name: 'dump', long: 'dump', value: false },
  { name: 'verbose', short: 'v', value: false },
  { name: 'quiet', short: 'q', long: 'quiet', value: false },
  { name: 'keepPartial', long: 'keep-partial', value: false },
  { name: 'help', short: 'h', long: 'help', value: false },
]

interface ReceiveArgs {
  dest: string | undefined
  file: string | undefined
  stopAtEnd: boolean
  maxErrors: number
  chroot: boolean
  rootMount: string | undefined
  forceDecompress: boolean
  dump: boolean
  /** 0 with -q, 1 by default, one more per -v: btrfs receive's levels. */
  verbosity: number
  keepPartial: boolean
  help: boolean
}

/** btrfs receive's options (see RECEIVE_USAGE); throws ArgvError on a usage mistake. */
export function parseReceiveArgs(args: readonly string[]): ReceiveArgs {
  const { options, operands } = parseArgv(args, OPTIONS)
  const out: ReceiveArgs = {
    dest: undefined, file: undefined, stopAtEnd: false, maxErrors: 1, chroot: false, rootMount: undefined,
    forceDecompress: false, dump: false, verbosity: 1, keepPartial: false, help: false,
  }
  for (const { name, flag, value } of options) {
    if (name === 'maxErrors') {
      if (value === undefined || !/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new ArgvError(`option '${flag}' needs a non-negative number, got '${value}'`)
      out.maxErrors = Number(value)
    } else if (name === 'file') out.file = value
    else if (name === 'rootMount') out.rootMount = value
    else if (name === 'verbose') out.verbosity++
    else if (name === 'quiet') out.verbosity = 0
    else (out as unknown as Record<string, boolean>)[name] = true
  }
  if (out.help) return out
  if (out.dump) {
    if (operands.length > 0) throw new ArgvError(`--dump takes no DEST, got '${operands[0]}'`)
  } else {
    if (operands.length === 0) throw new ArgvError('missing DEST')
    if (operands.length > 1) throw new ArgvError(`unexpected argument '${operands[1]}'`)
    out.dest = operands[0]
  }
  return out
}

/** The lines btrfs receive prints for a received subvolume at its default and -v levels. */
function announce(s: ReceivedSubvolume, verbosity: number): void {
  if (verbosity < 1) return
  if (s.kind === 'subvol') process.stderr.write(`At subvol ${s.name}\n`)
  else process.stdout.write(`At snapshot ${s.name}\n`)
  if (verbosity < 2) return
  // btrfs receive's line for a snapshot also names the stream's parent uuid and ctransid, which
  // the result does not carry: that line is left out rather than printed differently.
  if (s.kind === 'subvol') process.stderr.write(`receiving subvol ${s.name} uuid=${s.receivedUuid}, stransid=${s.stransid}\n`)
  process.stderr.write(`BTRFS_IOC_SET_RECEIVED_SUBVOL uuid=${s.receivedUuid}, stransid=${s.stransid}\n`)
}

function usageError(message: string): number {
  process.stderr.write(`ERROR: ${message}\n${RECEIVE_USAGE}`)
  return 1
}

export async function runReceive(args: string[]): Promise<number> {
  let parsed: ReceiveArgs
  try {
    parsed = parseReceiveArgs(args)
  } catch (err) {
    if (err instanceof ArgvError) return usageError(err.message)
    throw err
  }
  if (parsed.help) {
    process.stdout.write(RECEIVE_USAGE)
    return 0
  }
  if (parsed.dump) {
    // -E, -e, -C, -m and --force-decompress do not change what --dump prints.
    return (require('./dump.js') as typeof import('./dump.js')).runDump(parsed.file === undefined ? [] : ['-f', parsed.file])
  }
  const dest = parsed.dest as string
  if (parsed.rootMount !== undefined && !isDirectory(parsed.rootMount)) {
    process.stderr.write(`ERROR: cannot open ${parsed.rootMount}: not a directory\n`)
    return 1
  }
  if (parsed.chroot && parsed.verbosity >= 1) {
    let full: string
    try {
      full = fs.realpathSync(dest)
    } catch (err) {
      process.stderr.write(`ERROR: realpath(${dest}) failed: ${(err as Error).message}\n`)
      return 1
    }
    process.stderr.write(`Chroot to ${full}\n`)
  }
  const controller = new AbortController()
  let fd = -1
  let s3: { stream: Readable; close(): void } | undefined
  if (isS3Url(parsed.file)) {
    // Downloaded with ranged GETs that resume, checked against what upload() stored (lib/s3).
    try {
      s3 = openS3Source(parsed.file, controller.signal)
    } catch (err) {
      process.stderr.write(`ERROR: ${(err as Error).message}\n`)
      return 1
    }
  } else if (parsed.file === undefined || parsed.file === '-') {
    // isatty, not process.stdin.isTTY: touching process.stdin wraps fd 0 in a libuv handle,
    // which makes a pipe non-blocking under our reads.
    // node:tty loads only here: the common -f FILE case does not pay for it.
    if ((require('node:tty') as typeof import('node:tty')).isatty(0)) {
      process.stderr.write('ERROR: stdin is a terminal: pipe a stream in or use -f FILE\n')
      return 1
    }
    fd = 0
  } else {
    try {
      fd = fs.openSync(parsed.file, 'r')
    } catch (err) {
      process.stderr.write(`ERROR: cannot open ${parsed.file}: ${(err as Error).message}\n`)
      return 1
    }
  }
  const tty = parsed.verbosity >= 1 && process.stderr.isTTY === true
  const started = Date.now()
  let drawn = false
  const draw = (p: ReceiveProgress) => {
    if (!tty) return
    process.stderr.write(`\r\x1b[K${progressLine(p, Date.now() - started, process.stderr.columns ?? 80)}`)
    drawn = true
  }
  const onSignal = () => controller.abort(new Error('interrupted'))
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    // In this thread, not in a worker: see receive-fd.ts. A read still in flight on stdin is
    // left behind (we exit anyway); a file is closed only once its reads have settled.
    const options: ReceiveOptions = {
      signal: controller.signal,
      maxErrors: parsed.maxErrors,
      stopAtEnd: parsed.stopAtEnd,
      keepPartial: parsed.keepPartial,
      forceDecompress: parsed.forceDecompress,
      onProgress: draw,
      onWarning: (w) => {
        if (drawn) process.stderr.write('\r\x1b[K')
        process.stderr.write(`WARNING: ${w.message}\n`)
      },
    }
    const result = s3 ? await receive(s3.stream, dest, options) : await receiveFd(fd, dest, options, fd !== 0)
    if (drawn) process.stderr.write('\r\x1b[K')
    for (const s of result.subvolumes) announce(s, parsed.verbosity)
    if (tty) {
      const secs = (Date.now() - started) / 1000
      process.stderr.write(`received ${result.subvolumes.length} subvolume(s), ${human(result.bytes)} in ${secs.toFixed(1)} s\n`)
    }
    return 0
  } catch (err) {
    if (drawn) process.stderr.write('\r\x1b[K')
    process.stderr.write(`ERROR: ${err instanceof Error ? err.message : String(err)}\n`)
    return 1
  } finally {
    process.removeListener('SIGINT', onSignal)
    process.removeListener('SIGTERM', onSignal)
    if (fd > 0) fs.closeSync(fd)
    s3?.close()
  }
}
