// formatCommand(): one command as the line `btrfs receive --dump` prints for it, in the current
// btrfs-progs format (6.9.1 and later: escaped xattr names/values and link targets, no commas in
// encoded_write). The DumpContext carries the one piece of state progs keeps: the current
// subvolume's path, set by SUBVOL/SNAPSHOT and prefixed to every other path.
import { StreamFormatError } from '../errors.js'
import type { Command, Timespec } from '../stream/commands.js'
import { formatUuid } from '../uuid.js'
import { escapeBytes, escapeCString, pathCat } from './escape.js'

const DOT = Buffer.from('.')

/** progs' dump state: root_path and full_subvol_path both start as ".". */
export interface DumpContext {
  subvolPath: Buffer
}

export function createDumpContext(): DumpContext {
  return { subvolPath: DOT }
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

/**
 * strftime("%FT%T%z", localtime(sec)) as glibc prints it, in the process's TZ. Like progs, the
 * on-disk u64 seconds are read as a signed time_t; nanoseconds are not printed. Years print
 * unpadded (glibc %Y). Outside the range JavaScript dates cover (±2.7e5 years) it fails as
 * localtime would for such values.
 */
export function formatTime(ts: Timespec): string {
  const sec = Number(BigInt.asIntN(64, ts.sec))
  if (!(Math.abs(sec) <= MAX_DATE_SECONDS)) throw new RangeError(`time ${BigInt.asIntN(64, ts.sec)} cannot be converted to local time`)
  const d = new Date(sec * 1000)
  const y = d.getFullYear()
  // Local wall-clock fields re-read as UTC give the offset, seconds included (LMT zones).
  const wall = new Date(0)
  wall.setUTCFullYear(y, d.getMonth(), d.getDate())
  wall.setUTCHours(d.getHours(), d.getMinutes(), d.getSeconds(), 0)
  const offsetSec = Math.trunc((wall.getTime() - sec * 1000) / 1000)
  const sign = offsetSec < 0 ? '-' : '+'
  const abs = Math.abs(offsetSec)
  const hh = Math.trunc(abs / 3600)
  const mm = Math.trunc((abs % 3600) / 60)
  return (
    `${y}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}T` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}` +
    `${sign}${pad2(hh)}${pad2(mm)}`
  )
}

/**
 * The dump line for `cmd`, or undefined for commands progs prints nothing for (END, and unknown
 * commands, which progs skips). Updates `context` on SUBVOL/SNAPSHOT.
 */
export function formatCommand(cmd: Command, context: DumpContext = createDumpContext()): string | undefined {
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
        times = `atime=${formatTime(cmd.atime)} mtime=${formatTime(cmd.mtime)} ctime=${formatTime(cmd.ctime)}`
      } catch (cause) {
        throw new StreamFormatError('BTRFS_STREAM_BAD_ATTRIBUTE', (cause as Error).message, {
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
