#!/usr/bin/env node
// The `btrfs-stream` command: dispatches argv[2] to a subcommand through one small table, so
// new subcommands (receive, demo, …) are one entry each. Errors print as btrfs-progs does,
// `ERROR: …` on stderr, with exit code 1.

export interface Subcommand {
  /** One line for the overview. */
  summary: string
  usage: string
  /** Resolves to the process exit code. */
  run(args: string[]): Promise<number>
}

export const SUBCOMMANDS: Record<string, Subcommand> = {
  // Each subcommand's modules load only when it runs: startup time is part of every run.
  dump: { summary: 'print a send stream as btrfs receive --dump does (or as JSON Lines)', usage: 'usage: btrfs-stream dump [-f FILE] [--json]', run: (a) => (require('./dump.js') as typeof import('./dump.js')).runDump(a) },
  ls: { summary: 'list the entries a send stream holds, as tar -t / tar -tv does (or as JSON Lines)', usage: 'usage: btrfs-stream ls [-f FILE] [-l] [--json]', run: (a) => (require('./ls.js') as typeof import('./ls.js')).runLs(a) },
  diff: { summary: 'print what an incremental send stream changes, as zfs diff does (or as JSON Lines)', usage: 'usage: btrfs-stream diff [-f FILE] [--json]', run: (a) => (require('./diff.js') as typeof import('./diff.js')).runDiff(a) },
  send: { summary: 'send subvolume(s) as btrfs send does (same flags, same bytes), with a progress bar', usage: 'usage: btrfs-stream send [-ve] [-p PARENT] [-c SRC]... [-f OUT] SUBVOL...', run: (a) => (require('./send.js') as typeof import('./send.js')).runSend(a) },
  subvolume: { summary: 'create, snapshot, delete, show and list subvolumes (--json for machines)', usage: 'usage: btrfs-stream subvolume create|snapshot|delete|show|list ...', run: (a) => (require('./subvolume.js') as typeof import('./subvolume.js')).runSubvolume(a) },
  receive: { summary: 'receive send stream(s) into a directory on btrfs, as btrfs receive does', usage: 'usage: btrfs-stream receive [-veqC] [-f FILE] [-E N] [-m ROOTMOUNT] [--force-decompress] DEST | --dump [-f FILE]', run: (a) => (require('./receive.js') as typeof import('./receive.js')).runReceive(a) },
  restore: { summary: 'restore a chain of backups from S3 (full, then incrementals) up to one snapshot', usage: 'usage: btrfs-stream restore [--to NAME|UUID] s3://BUCKET/PREFIX/ DEST', run: (a) => (require('./restore.js') as typeof import('./restore.js')).runRestore(a) },
}

function overview(): string {
  const names = Object.keys(SUBCOMMANDS)
  const width = Math.max(...names.map((n) => n.length))
  return [
    'usage: btrfs-stream <command> [options]',
    '',
    ...names.map((n) => `    ${n.padEnd(width)}  ${SUBCOMMANDS[n].summary}`),
    '',
    "Run 'btrfs-stream <command> --help' for a command's options.",
    '',
  ].join('\n')
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    ;(name === undefined ? process.stderr : process.stdout).write(overview())
    return name === undefined ? 1 : 0
  }
  const sub = Object.hasOwn(SUBCOMMANDS, name) ? SUBCOMMANDS[name] : undefined
  if (!sub) {
    process.stderr.write(`ERROR: unknown command '${name}'\n${overview()}`)
    return 1
  }
  return sub.run(rest)
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code
    },
    (err: unknown) => {
      process.stderr.write(`ERROR: ${err instanceof Error ? err.message : String(err)}\n`)
      process.exitCode = 1
    },
  )
}
