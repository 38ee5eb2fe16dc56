// `btrfs-stream subvolume create|snapshot [-r]|delete|show|list [--json]` over the subvolume API,
// printing what `btrfs subvolume` prints where that is sensible. --json (show, list) writes one
// JSON document: bigints as decimal strings, dates as ISO strings, absent values as null.
import { parseArgs } from 'node:util'
import * as subvolume from '../subvolume/api.js'
import type { SubvolumeInfo } from '../subvolume/api.js'

export const SUBVOLUME_USAGE = [
  'usage: btrfs-stream subvolume <command> [options] <args>',
  '',
  '    create PATH...               create subvolume(s)',
  '    snapshot [-r] SOURCE DEST    snapshot SOURCE as DEST (DEST/NAME if DEST is a directory); -r: read-only',
  '    delete PATH...               delete subvolume(s)',
  '    show [--json] PATH           print what is known about the subvolume at PATH',
  '    list [--json] PATH           list the subvolumes below PATH',
  '',
].join('\n')

/** JSON with bigints as strings (u64 values do not fit a JSON number) and dates as ISO text. */
export function toJsonText(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n'
}

function when(d: Date | null): string {
  if (d === null) return '-'
  const offset = -d.getTimezoneOffset()
  const local = new Date(d.getTime() + offset * 60_000).toISOString().slice(0, 19).replace('T', ' ')
  const sign = offset < 0 ? '-' : '+'
  const abs = Math.abs(offset)
  return `${local} ${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}${String(abs % 60).padStart(2, '0')}`
}

/** `btrfs subvolume show`'s layout. */
export function formatShow(info: SubvolumeInfo): string {
  const rows: Array<[string, string]> = [
    ['Name', info.name],
    ['UUID', info.uuid],
    ['Parent UUID', info.parentUuid ?? '-'],
    ['Received UUID', info.receivedUuid ?? '-'],
    ['Creation time', when(info.otime)],
    ['Subvolume ID', String(info.id)],
    ['Generation', String(info.generation)],
    ['Gen at creation', String(info.otransid)],
    ['Parent ID', String(info.parentId)],
    ['Top level ID', String(info.parentId)],
    ['Flags', info.readOnly ? 'readonly' : '-'],
    ['Send transid', String(info.stransid)],
    ['Send time', when(info.stime)],
    ['Receive transid', String(info.rtransid)],
    ['Receive time', when(info.rtime)],
  ]
  return `${info.path ?? info.name}\n${rows.map(([k, v]) => `\t${`${k}:`.padEnd(16)}\t${v}`).join('\n')}\n`
}

async function run(command: string, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { r: { type: 'boolean', short: 'r' }, json: { type: 'boolean' } },
  })
  const need = (n: number, exact = true) => {
    if (positionals.length < n || (exact && positionals.length !== n)) throw new UsageError(`'${command}' needs ${n} path${n > 1 ? 's' : ''}${exact ? '' : ' or more'}`)
  }
  if (values.r && command !== 'snapshot') throw new UsageError(`-r is an option of 'snapshot' only`)
  if (values.json && command !== 'show' && command !== 'list') throw new UsageError(`--json is an option of 'show' and 'list' only`)
  const out = (text: string) => process.stdout.write(text)
  switch (command) {
    case 'create':
      need(1, false)
      for (const p of positionals) {
        await subvolume.create(p)
        out(`Create subvolume '${p}'\n`)
      }
      return 0
    case 'snapshot': {
      need(2)
      const [source, dest] = positionals
      const target = await isDirectory(dest) ? `${dest.replace(/\/+$/, '')}/${source.replace(/\/+$/, '').split('/').pop()}` : dest
      await subvolume.snapshot(source, target, { readOnly: values.r === true })
      out(`Create a${values.r ? ' readonly' : ''} snapshot of '${source}' in '${target}'\n`)
      return 0
    }
    case 'delete':
      need(1, false)
      for (const p of positionals) {
        out(`Delete subvolume '${p}'\n`)
        await subvolume.delete(p)
      }
      return 0
    case 'show': {
      need(1)
      const info = await subvolume.info(positionals[0])
      out(values.json ? toJsonText(info) : formatShow(info))
      return 0
    }
    case 'list': {
      need(1)
      const entries = await subvolume.list(positionals[0])
      if (values.json) out(toJsonText(entries))
      else for (const e of entries) out(`ID ${e.id} gen ${e.generation} top level ${e.parentId} path ${e.topLevelPath}\n`)
      return 0
    }
    default:
      throw new UsageError(`unknown subvolume command '${command}'`)
  }
}

async function isDirectory(p: string): Promise<boolean> {
  const { stat } = await import('node:fs/promises')
  return stat(p).then((s) => s.isDirectory(), () => false)
}

class UsageError extends Error {}

export async function runSubvolume(args: string[]): Promise<number> {
  const [command, ...rest] = args
  if (command === undefined || command === '-h' || command === '--help' || rest.includes('--help') || rest.includes('-h')) {
    ;(command === undefined ? process.stderr : process.stdout).write(SUBVOLUME_USAGE)
    return command === undefined ? 1 : 0
  }
  try {
    return await run(command, rest)
  } catch (err) {
    const usage = err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    process.stderr.write(`ERROR: ${(err as Error).message}\n${usage ? SUBVOLUME_USAGE : ''}`)
    return 1
  }
}
