// dump(): a whole input as `btrfs receive --dump` text lines, or as JSON Lines carrying every
// attribute. Unlike progs, which stops at the first END, it continues through concatenated
// streams. Lines are yielded without their trailing newline.
import { InvalidArgumentError } from '../errors.js'
import { checkByteSource, checkOptions } from '../check.js'
import { parse, type ByteSource, type ParseOptions } from '../stream/parser.js'
import { formatUuid } from '../uuid.js'
import { isUtf8Path } from '../stream/values.js'
import { ATTRIBUTES, type AttributeField, type Command } from '../stream/commands.js'
import { createDumpContext, formatCommand } from './format.js'

export interface DumpOptions extends ParseOptions {
  /** 'text' (default): progs' --dump lines. 'json': one JSON object per command (see toJson). */
  format?: 'text' | 'json'
  /**
   * IANA time zone for utimes in text output. Default: the process's local time, which follows
   * TZ exactly as `btrfs receive --dump` does.
   */
  timeZone?: string
}

/**
 * A command as a plain JSON-safe object (JSON Lines format of dump):
 * - `type`, `offset`, `index`, `stream`, `version` as decoded; unknown commands add `cmd`;
 * - u64 values decoded as bigint (ctransid, cloneCtransid, ino, rdev) and timespec seconds become
 *   decimal strings; other numbers stay numbers;
 * - uuids become their 8-4-4-4-12 text;
 * - timespecs become `{ "sec": "<decimal>", "nsec": <number> }`;
 * - byte strings (paths, names, xattr values, link targets) become `{ "utf8": "..." }` when
 *   they are valid UTF-8 and `{ "base64": "..." }` otherwise;
 * - bulk data (DATA, verity salt/signature, an unknown command's payload) is always
 *   `{ "base64": "..." }`.
 */
export function toJson(cmd: Command): Record<string, unknown> {
  if (typeof cmd !== 'object' || cmd === null) throw new InvalidArgumentError('cmd must be a decoded command')
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(cmd)) {
    if (value === undefined) continue
    const kind = key === 'payload' ? 'data' : ATTRIBUTES[key as AttributeField]?.kind
    out[key] = jsonValue(kind, value)
  }
  return out
}

function jsonValue(kind: string | undefined, value: unknown): unknown {
  if (kind === 'uuid') return formatUuid(value as Buffer)
  if (kind === 'data') return { base64: (value as Buffer).toString('base64') }
  if (kind === 'bytes') {
    const b = value as Buffer
    return isUtf8Path(b) ? { utf8: b.toString('utf8') } : { base64: b.toString('base64') }
  }
  if (kind === 'timespec') {
    const ts = value as { sec: bigint; nsec: number }
    return { sec: ts.sec.toString(), nsec: ts.nsec }
  }
  if (typeof value === 'bigint') return value.toString()
  return value
}

/** Yields the dump of every command of `source` (bytes, or a file path), one line per printed command. */
export async function* dump(source: ByteSource | string, options: DumpOptions = {}): AsyncGenerator<string, void, undefined> {
  options = checkOptions(options)
  checkByteSource(source, 'source', true)
  // Unknown commands are skipped (text) or shown raw (json), as btrfs receive --dump skips them.
  const parseOptions: ParseOptions = { allowUnknownCommands: true, ...options }
  const format = options.format ?? 'text'
  if (format !== 'text' && format !== 'json') throw new InvalidArgumentError(`dump format must be 'text' or 'json', got ${String(format)}`)
  if (format === 'json') {
    for await (const cmd of parse(source, parseOptions)) yield JSON.stringify(toJson(cmd))
    return
  }
  const context = createDumpContext({ timeZone: options.timeZone })
  for await (const cmd of parse(source, parseOptions)) {
    const text = formatCommand(cmd, context)
    if (text !== undefined) yield text
  }
}
