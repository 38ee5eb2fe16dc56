// Text and JSON Lines forms of list() and diff() records, for the `ls` and `diff` commands.
// - ls: plain paths (escaped as btrfs receive --dump escapes names), or `tar -tv` lines with
//   numeric owners; JSON Lines: one object per entry.
// - diff: `zfs diff` lines (`+`, `-`, `M`, `R old -> new`, tab-separated, with zfs diff's byte
//   escaping: every byte outside '!'..'~' and the backslash as `\` plus four octal digits).
// In JSON, byte strings (paths, link targets) are strings when they are valid UTF-8 and
// `{ "base64": "..." }` otherwise; 64-bit values (ino, rdev) are decimal strings; a timespec is
// the string "<seconds>.<9-digit nanoseconds>"; unknown fields are null.
import { escapeCString } from '../dump/escape.js'
import { formatTime } from '../dump/format.js'
import type { Timespec } from '../stream/commands.js'
import { isUtf8Path } from '../stream/values.js'
import type { DiffEntry } from './diff.js'
import type { EntryType } from './model.js'
import type { ListEntry } from './list.js'

export function jsonBytes(bytes: Buffer | undefined): string | { base64: string } | null {
  if (bytes === undefined) return null
  return isUtf8Path(bytes) ? bytes.toString('utf8') : { base64: bytes.toString('base64') }
}

export function jsonTime(ts: Timespec | undefined): string | null {
  return ts === undefined ? null : `${ts.sec}.${String(ts.nsec).padStart(9, '0')}`
}

/** zfs diff's escaping of a name. */
export function escapeZfs(bytes: Buffer): string {
  let s = ''
  for (const c of bytes) s += c > 0x20 && c < 0x7f && c !== 0x5c ? String.fromCharCode(c) : '\\' + c.toString(8).padStart(4, '0')
  return s
}

const TYPE_CHAR: Record<EntryType, string> = { file: '-', dir: 'd', symlink: 'l', fifo: 'p', socket: 's', char: 'c', block: 'b' }

/** `ls -l` permission text, setuid/setgid/sticky included, as tar and ls print them. */
function permissions(type: EntryType | undefined, mode: number | undefined): string {
  const head = type === undefined ? '?' : TYPE_CHAR[type]
  if (mode === undefined) return head + (type === 'symlink' ? 'rwxrwxrwx' : '?????????')
  const bit = (mask: number, ch: string): string => (mode & mask ? ch : '-')
  const exec = (x: number, special: number, on: string): string => {
    if (mode & special) return mode & x ? on : on.toUpperCase()
    return mode & x ? 'x' : '-'
  }
  return (
    head +
    bit(0o400, 'r') + bit(0o200, 'w') + exec(0o100, 0o4000, 's') +
    bit(0o040, 'r') + bit(0o020, 'w') + exec(0o010, 0o2000, 's') +
    bit(0o004, 'r') + bit(0o002, 'w') + exec(0o001, 0o1000, 't')
  )
}

/** Kernel new_encode_dev(): major in bits 8..19, minor in bits 0..7 and 20..31. */
function deviceText(rdev: bigint): string {
  const dev = Number(rdev & 0xffffffffn)
  return `${(dev & 0xfff00) >>> 8},${(dev & 0xff) | ((dev >>> 12) & 0xfff00)}`
}

/**
 * Formats list entries as `tar -tv --numeric-owner` prints them: owner and size share a column
 * that widens as wider values appear (tar's rule, so columns line up the way tar's do); a hard
 * link's later names show type `h`, size 0 and "link to" the first name; symlinks show size 0.
 * Without `long`, paths.
 */
export function createListFormatter(long: boolean, timeZone?: string): (entry: ListEntry) => string {
  let width = 19
  return (entry) => {
    const name = escapeCString(entry.path)
    if (!long) return name
    const owner = `${entry.uid ?? '?'}/${entry.gid ?? '?'}`
    const device = entry.type === 'char' || entry.type === 'block'
    // tar shows 0 for symlinks and hard links (their data is elsewhere).
    const size = device ? deviceText(entry.rdev ?? 0n) : String(entry.hardlink || entry.type === 'symlink' ? 0 : (entry.size ?? '?'))
    width = Math.max(width, owner.length + 1 + size.length)
    const when = entry.mtime === undefined ? '????-??-?? ??:??' : formatTime(entry.mtime, timeZone).slice(0, 16).replace('T', ' ')
    const perms = permissions(entry.type, entry.mode)
    let line = `${entry.hardlink ? 'h' + perms.slice(1) : perms} ${owner} ${size.padStart(width - owner.length - 1)} ${when} ${name}`
    if (entry.hardlink) line += ` link to ${escapeCString(entry.hardlink)}`
    else if (entry.target) line += ` -> ${escapeCString(entry.target)}`
    return line
  }
}

export function listJson(entry: ListEntry): string {
  return JSON.stringify({
    subvolume: jsonBytes(Buffer.from(entry.subvolume, 'latin1')),
    path: jsonBytes(entry.path),
    type: entry.type ?? null,
    mode: entry.mode ?? null,
    uid: entry.uid ?? null,
    gid: entry.gid ?? null,
    size: entry.size ?? null,
    mtime: jsonTime(entry.mtime),
    target: jsonBytes(entry.target),
    hardlink: jsonBytes(entry.hardlink),
    rdev: entry.rdev === undefined ? null : String(entry.rdev),
    ino: entry.ino === undefined ? null : String(entry.ino),
    created: entry.created,
  })
}

const OP_CHAR: Record<DiffEntry['op'], string> = { added: '+', deleted: '-', modified: 'M', renamed: 'R' }

export function diffLine(entry: DiffEntry): string {
  const path = escapeZfs(entry.path)
  return entry.from ? `${OP_CHAR[entry.op]}\t${escapeZfs(entry.from)} -> ${path}` : `${OP_CHAR[entry.op]}\t${path}`
}

export function diffJson(entry: DiffEntry): string {
  return JSON.stringify({
    op: entry.op,
    path: jsonBytes(entry.path),
    ...(entry.from ? { from: jsonBytes(entry.from) } : {}),
    type: entry.type ?? null,
    changes: entry.changes,
    subvolume: jsonBytes(Buffer.from(entry.subvolume, 'latin1')),
  })
}
