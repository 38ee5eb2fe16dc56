// `btrfs-stream receive DEST [-f FILE] [-e] [-E N] …`: receiveFd() (receive() applied in this
// thread) with btrfs receive's options.
// On a TTY, stderr shows one progress line (bytes, rate, commands, current subvolume), redrawn
// at most 5 times a second; otherwise it is quiet except for errors, which print as
// `ERROR: …` with exit code 1. SIGINT/SIGTERM abort the receive (the partial is deleted).
import fs from 'node:fs'
import type { ReceiveProgress } from '../receive/api/options.js'
import { receiveFd } from '../receive/api/receive-fd.js'

export const RECEIVE_USAGE = [
  'usage: btrfs-stream receive [options] DEST',
  '',
  '    Receive the subvolume(s) of a btrfs send stream into directory DEST, as',
  "    'btrfs receive' does: read-only, with received uuids, confined to DEST.",
  '',
  '    -f FILE, --file FILE   read the stream from FILE instead of stdin',
  '    -e                     stop at the first END command',
  '    -E N, --max-errors N   stop after N failed commands (default 1; 0 = never)',
  '    --keep-partial         keep a failed subvolume (writable, not received)',
  '    --force-decompress     decompress encoded writes instead of writing them as they are',
  '    -q, --quiet            no progress line even on a terminal',
  '    -h, --help             print this help',
  '',
].join('\n')

interface ReceiveArgs {
  dest?: string
  file?: string
  stopAtEnd: boolean
  maxErrors: number
  keepPartial: boolean
  forceDecompress: boolean
  quiet: boolean
}

function parseArgs(args: string[]): ReceiveArgs | string {
  const out: ReceiveArgs = { stopAtEnd: false, maxErrors: 1, keepPartial: false, forceDecompress: false, quiet: false }
  for (let i = 0; i < args.length; i++) {
    const a = args[i]
    const value = (): string | undefined => (i + 1 < args.length ? args[++i] : undefined)
    if (a === '-f' || a === '--file') {
      const v = value()
      if (v === undefined) return `option '${a}' requires an argument`
      out.file = v
    } else if (a.startsWith('--file=')) out.file = a.slice(7)
    else if (a === '-e') out.stopAtEnd = true
    else if (a === '-E' || a === '--max-errors' || a.startsWith('--max-errors=') || (a.startsWith('-E') && a.length > 2)) {
      const v = a.startsWith('--max-errors=') ? a.slice(13) : a.startsWith('-E') && a.length > 2 ? a.slice(2) : value()
      if (v === undefined || !/^\d+$/.test(v)) return `option '${a}' needs a non-negative number`
      out.maxErrors = Number(v)
    } else if (a === '--keep-partial') out.keepPartial = true
    else if (a === '--force-decompress') out.forceDecompress = true
    else if (a === '-q' || a === '--quiet') out.quiet = true
    else if (a.startsWith('-') && a !== '-') return `unrecognized option '${a}'`
    else if (out.dest === undefined) out.dest = a
    else return `unexpected argument '${a}'`
  }
  return out
}

function human(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024
    i++
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`
}

/** The progress line: bytes, rate, commands and the subvolume being received. */
export function progressLine(p: ReceiveProgress, elapsedMs: number, width: number): string {
  const rate = elapsedMs > 0 ? (p.bytes * 1000) / elapsedMs : 0
  const line = `${human(p.bytes)} at ${human(rate)}/s, ${p.commands} commands, ${p.subvolumesDone} done${p.subvolume ? `, receiving ${p.subvolume}` : ''}`
  return line.length > width - 1 ? line.slice(0, width - 2) + '…' : line
}

export async function runReceive(args: string[]): Promise<number> {
  if (args.includes('-h') || args.includes('--help')) {
    process.stdout.write(RECEIVE_USAGE)
    return 0
  }
  const parsed = parseArgs(args)
  if (typeof parsed === 'string' || parsed.dest === undefined) {
    process.stderr.write(`ERROR: ${typeof parsed === 'string' ? parsed : 'missing DEST'}\n${RECEIVE_USAGE}`)
    return 1
  }
  let fd: number
  if (parsed.file === undefined || parsed.file === '-') {
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
  const tty = !parsed.quiet && process.stderr.isTTY === true
  const started = Date.now()
  let drawn = false
  const draw = (p: ReceiveProgress) => {
    if (!tty) return
    process.stderr.write(`\r\x1b[K${progressLine(p, Date.now() - started, process.stderr.columns ?? 80)}`)
    drawn = true
  }
  const controller = new AbortController()
  const onSignal = () => controller.abort(new Error('interrupted'))
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    // In this thread, not in a worker: see receive-fd.ts. A read still in flight on stdin is
    // left behind (we exit anyway); a file is closed only once its reads have settled.
    const result = await receiveFd(fd, parsed.dest, {
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
    }, fd !== 0)
    if (drawn) process.stderr.write('\r\x1b[K')
    if (tty) {
      const secs = (Date.now() - started) / 1000
      for (const s of result.subvolumes) process.stderr.write(`At subvol ${s.name}\n`)
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
    if (fd !== 0) fs.closeSync(fd)
  }
}
