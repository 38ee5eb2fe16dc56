// formatCommand(): one command as the line `btrfs receive --dump` prints for it, in the current
// btrfs-progs format (6.9.1 and later: escaped xattr names/values and link targets, no commas in
// encoded_write). The DumpContext carries the one piece of state progs keeps: the current
// subvolume's path, set by SUBVOL/SNAPSHOT and prefixed to every other path.
import { BtrfsError, InvalidArgumentError, StreamFormatError } from '../errors.js'
import { checkOptions, checkTimespec } from '../check.js'
import type { Command, Timespec } from '../stream/commands.js'
import { formatUuid } from '../uuid.js'
import { escapeBytes, escapeCString, pathCat } from './escape.js'

const DOT = Buffer.from('.')

/** progs' dump state: root_path and full_subvol_path both start as ".". */
export interface DumpContext {
  subvolPath: Buffer
  /**
   * IANA zone for utimes (e.g. 'UTC', 'Europe/Berlin'). Undefined: the process's local time,
   * which follows the TZ environment variable as progs' localtime() does.
   */
  timeZone?: string
}

export function createDumpContext(options: { timeZone?: string } = {}): DumpContext {
  options = checkOptions(options)
  if (options.timeZone !== undefined) zoneFormatter(options.timeZone)
  return { subvolPath: DOT, timeZone: options.timeZone }
}

const TITLE_WIDTH = 16
const PATH_WIDTH = 32

/** "%-16s" title, escaped path, then (with fields) ≥ 1 space padding the path to 32 columns. */
function line(title: string, fullPath: Uint8Array, fields?: string): string {
  const path = escapeBytes(fullPath)
  const head = title.padEnd(TITLE_WIDTH) + path
  if (fields === undefined) return head
  return head + ' '.repeat(Math.max(1, PATH_WIDTH - path.length)) + fields
}

function octal(n: number): string {
  return n.toString(8)
}

function pad2(n: number): string {
  return n < 10 ? '0' + n : String(n)
}

const MAX_DATE_SECONDS = 8_640_000_000_000

interface WallClock {
  year: number
  month: number
  day: number
  hour: number
  minute: number
  second: number
}

const formatters = new Map<string, Intl.DateTimeFormat>()

/** A cached formatter for `timeZone`; an invalid argument for zones Intl does not know. */
function zoneFormatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone)
  if (!f) {
    if (typeof timeZone !== 'string') throw new InvalidArgumentError(`timeZone must be a string, got ${typeof timeZone}`)
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        era: 'short',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      })
    } catch {
      throw new InvalidArgumentError(`unknown time zone '${timeZone}'`)
    }
    formatters.set(timeZone, f)
  }
  return f
}

function wallClock(ms: number, timeZone: string | undefined): WallClock {
  if (timeZone === undefined) {
    const d = new Date(ms)
    return {
      year: d.getFullYear(),
      month: d.getMonth() + 1,
      day: d.getDate(),
      hour: d.getHours(),
      minute: d.getMinutes(),
      second: d.getSeconds(),
    }
  }
  const w: WallClock = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 }
  let bc = false
  for (const part of zoneFormatter(timeZone).formatToParts(ms)) {
    if (part.type === 'era') bc = part.value === 'BC' || part.value === 'B'
    else if (part.type in w) w[part.type as keyof WallClock] = Number(part.value)
  }
  if (bc) w.year = 1 - w.year
  return w
}

/**
 * strftime("%FT%T%z", localtime(sec)) as glibc prints it: local time of the process (TZ) or of
 * `timeZone`. Like progs, the on-disk u64 seconds are read as a signed time_t; nanoseconds are
 * not printed; years are unpadded (glibc %Y); a UTC offset with seconds (LMT) is truncated to
 * minutes. Beyond the ±2.7e5 years JavaScript dates cover it throws, as localtime() fails for
 * values it cannot represent (progs' limit is later, about ±2^31 years).
 */
export function formatTime(ts: Timespec, timeZone?: string): string {
  checkTimespec(ts, 'ts')
  const sec = Number(BigInt.asIntN(64, ts.sec))
  if (!(Math.abs(sec) <= MAX_DATE_SECONDS)) {
    throw new BtrfsError('BTRFS_DUMP_TIME_OUT_OF_RANGE', `failed to convert time ${BigInt.asIntN(64, ts.sec)}.${ts.nsec} to local time`)
  }
  const w = wallClock(sec * 1000, timeZone)
  // The wall clock re-read as UTC gives the offset, seconds included (LMT zones).
  const asUtc = new Date(0)
  asUtc.setUTCFullYear(w.year, w.month - 1, w.day)
  asUtc.setUTCHours(w.hour, w.minute, w.second, 0)
  const offsetSec = Math.trunc((asUtc.getTime() - sec * 1000) / 1000)
  const sign = offsetSec < 0 ? '-' : '+'
  const abs = Math.abs(offsetSec)
  return (
    `${w.year}-${pad2(w.month)}-${pad2(w.day)}T${pad2(w.hour)}:${pad2(w.minute)}:${pad2(w.second)}` +
    `${sign}${pad2(Math.trunc(abs / 3600))}${pad2(Math.trunc((abs % 3600) / 60))}`
  )
}

/**
 * The dump line for `cmd`, or undefined for commands progs prints nothing for (END, and unknown
 * commands, which progs skips). Updates `context` on SUBVOL/SNAPSHOT.
 */
export function formatCommand(cmd: Command, context: DumpContext = createDumpContext()): string | undefined {
  checkCommandArgs(cmd, context)
  try {
    return formatChecked(cmd, context)
  } catch (err) {
    // A hand-built command missing a field or holding a wrong type: the caller's mistake.
    if (err instanceof BtrfsError) throw err
    throw new InvalidArgumentError(`cmd is not a well-formed ${cmd.type} command: ${(err as Error).message}`)
  }
}

function checkCommandArgs(cmd: unknown, context: unknown): void {
  if (typeof cmd !== 'object' || cmd === null || typeof (cmd as Command).type !== 'string') {
    throw new InvalidArgumentError('cmd must be a decoded command (an object with a string type)')
  }
  const ctx = context as DumpContext | null
  if (typeof ctx !== 'object' || ctx === null || !(ctx.subvolPath instanceof Uint8Array)) {
    throw new InvalidArgumentError('context must come from createDumpContext()')
  }
}

function formatChecked(cmd: Command, context: DumpContext): string | undefined {
  const full = (p: Uint8Array): Buffer => pathCat(context.subvolPath, p)
  switch (cmd.type) {
    case 'subvol':
      context.subvolPath = pathCat(DOT, cmd.path)
      return line('subvol', context.subvolPath, `uuid=${formatUuid(cmd.uuid)} transid=${cmd.ctransid}`)
    case 'snapshot':
      context.subvolPath = pathCat(DOT, cmd.path)
      return line(
        'snapshot',
        context.subvolPath,
        `uuid=${formatUuid(cmd.uuid)} transid=${cmd.ctransid} ` +
          `parent_uuid=${formatUuid(cmd.cloneUuid)} parent_transid=${cmd.cloneCtransid}`,
      )
    case 'mkfile':
    case 'mkdir':
    case 'mkfifo':
    case 'mksock':
    case 'unlink':
    case 'rmdir':
      return line(cmd.type, full(cmd.path))
    case 'mknod':
      return line('mknod', full(cmd.path), `mode=${octal(cmd.mode)} dev=0x${cmd.rdev.toString(16)}`)
    case 'symlink':
      return line('symlink', full(cmd.path), `dest=${escapeCString(cmd.pathLink)}`)
    case 'rename':
      return line('rename', full(cmd.path), `dest=${escapeBytes(full(cmd.pathTo))}`)
    case 'link':
      return line('link', full(cmd.path), `dest=${escapeCString(cmd.pathLink)}`)
    case 'set_xattr':
      return line(
        'set_xattr',
        full(cmd.path),
        `name=${escapeCString(cmd.xattrName)} ${escapeBytes(cmd.xattrData)} len=${cmd.xattrData.length}`,
      )
    case 'remove_xattr':
      return line('remove_xattr', full(cmd.path), `name=${escapeCString(cmd.xattrName)}`)
    case 'write':
      return line('write', full(cmd.path), `offset=${cmd.fileOffset} len=${cmd.data.length}`)
    case 'clone':
      return line(
        'clone',
        full(cmd.path),
        `offset=${cmd.fileOffset} len=${cmd.cloneLen} from=${escapeBytes(full(cmd.clonePath))} clone_offset=${cmd.cloneOffset}`,
      )
    case 'truncate':
      return line('truncate', full(cmd.path), `size=${cmd.size}`)
    case 'chmod':
      return line('chmod', full(cmd.path), `mode=${octal(cmd.mode)}`)
    case 'chown':
      return line('chown', full(cmd.path), `gid=${cmd.gid} uid=${cmd.uid}`)
    case 'utimes': {
      let times: string
      try {
        const tz = context.timeZone
        times = `atime=${formatTime(cmd.atime, tz)} mtime=${formatTime(cmd.mtime, tz)} ctime=${formatTime(cmd.ctime, tz)}`
      } catch (cause) {
        if (!(cause instanceof BtrfsError) || cause.code !== 'BTRFS_DUMP_TIME_OUT_OF_RANGE') throw cause
        throw new StreamFormatError('BTRFS_DUMP_TIME_OUT_OF_RANGE', cause.message, {
          offset: cmd.offset,
          commandIndex: cmd.index,
          commandType: 20,
          commandName: 'utimes',
          cause,
        })
      }
      return line('utimes', full(cmd.path), times)
    }
    case 'update_extent':
      return line('update_extent', full(cmd.path), `offset=${cmd.fileOffset} len=${cmd.size}`)
    case 'fallocate':
      return line('fallocate', full(cmd.path), `mode=${cmd.fallocateMode | 0} offset=${cmd.fileOffset} len=${cmd.size}`)
    case 'fileattr':
      // progs prints the value in decimal after a literal 0x ("fileattr=0x%llu").
      return line('fileattr', full(cmd.path), `fileattr=0x${cmd.fileattr}`)
    case 'encoded_write':
      return line(
        'encoded_write',
        full(cmd.path),
        `offset=${cmd.fileOffset} len=${cmd.data.length} unencoded_file_len=${cmd.unencodedFileLen} ` +
          `unencoded_len=${cmd.unencodedLen} unencoded_offset=${cmd.unencodedOffset} ` +
          `compression=${cmd.compression ?? 0} encryption=${cmd.encryption ?? 0}`,
      )
    case 'enable_verity':
      return line(
        'enable_verity',
        full(cmd.path),
        `algorithm=${cmd.verityAlgorithm} block_size=${cmd.verityBlockSize} ` +
          `salt_len=${cmd.veritySaltData.length} sig_len=${cmd.veritySigData.length}`,
      )
    case 'end':
    case 'unknown':
      return undefined
  }
}
