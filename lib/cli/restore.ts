// `btrfs-stream restore s3://BUCKET/PREFIX/ DEST [--to NAME|UUID]`: restore() of lib/s3 on the
// command line. Prints the plan's outcome as `At subvol NAME` per received subvolume (as btrfs
// receive does) and a progress line on a terminal. SIGINT/SIGTERM abort (the partial is deleted).
import type { RestoreProgress } from '../s3/restore.js'
import { progressLine, StatusLine } from './progress.js'
import { parseS3Url, s3ClientFromEnv, S3UrlError } from './s3-url.js'

export const RESTORE_USAGE = [
  'usage: btrfs-stream restore [options] s3://BUCKET/PREFIX/ DEST',
  '',
  '    Restore the backups under PREFIX up to one snapshot into DEST: from the full',
  '    stream through each incremental, in order, skipping what DEST already holds.',
  '',
  '    --to NAME|UUID   the snapshot to restore (default: the newest)',
  '    -q, --quiet      no progress line even on a terminal',
  '    -h, --help       print this help',
  '',
  '    The S3 client is configured as the AWS SDK does (AWS_REGION, credentials,',
  '    AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL); BTRFS_STREAM_S3_FORCE_PATH_STYLE=1',
  '    selects path-style addressing.',
  '',
].join('\n')

interface RestoreArgs {
  url?: string
  dest?: string
  to?: string
  quiet: boolean
}

function parseArgs(args: string[]): RestoreArgs | string {
  const out: RestoreArgs = { quiet: false }
  for (let i = 0; i < args.length; i++) {
    const a = args[i]
    if (a === '--to') {
      if (i + 1 >= args.length) return "option '--to' requires an argument"
      out.to = args[++i]
    } else if (a.startsWith('--to=')) out.to = a.slice(5)
    else if (a === '-q' || a === '--quiet') out.quiet = true
    else if (a.startsWith('-')) return `unrecognized option '${a}'`
    else if (out.url === undefined) out.url = a
    else if (out.dest === undefined) out.dest = a
    else return `unexpected argument '${a}'`
  }
  return out
}

export async function runRestore(args: string[]): Promise<number> {
  if (args.includes('-h') || args.includes('--help')) {
    process.stdout.write(RESTORE_USAGE)
    return 0
  }
  const parsed = parseArgs(args)
  if (typeof parsed === 'string' || parsed.url === undefined || parsed.dest === undefined) {
    process.stderr.write(`ERROR: ${typeof parsed === 'string' ? parsed : 'missing s3://BUCKET/PREFIX/ or DEST'}\n${RESTORE_USAGE}`)
    return 1
  }
  let location
  try {
    const { bucket, key: prefix } = parseS3Url(parsed.url, 'prefix')
    location = { client: s3ClientFromEnv(), bucket, prefix }
  } catch (err) {
    if (!(err instanceof S3UrlError)) throw err
    process.stderr.write(`ERROR: ${err.message}\n`)
    return 1
  }
  const status = new StatusLine(process.stderr, !parsed.quiet && process.stderr.isTTY === true)
  const started = Date.now()
  const controller = new AbortController()
  const onSignal = () => controller.abort(new Error('interrupted'))
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    const { restore } = require('../s3/restore.js') as typeof import('../s3/restore.js')
    const result = await restore(location, parsed.dest, {
      to: parsed.to,
      signal: controller.signal,
      onProgress: (p: RestoreProgress) => status.draw(`[${p.step}/${p.steps}] ${progressLine(p, Date.now() - started, status.width - 8)}`),
    })
    status.clear()
    for (const r of result.received) for (const s of r.subvolumes) process.stderr.write(`At subvol ${s.name}\n`)
    if (result.received.length === 0) process.stderr.write(`${parsed.dest} already holds ${result.target.name} (${result.target.uuid})\n`)
    return 0
  } catch (err) {
    status.clear()
    process.stderr.write(`ERROR: ${err instanceof Error ? err.message : String(err)}\n`)
    return 1
  } finally {
    process.removeListener('SIGINT', onSignal)
    process.removeListener('SIGTERM', onSignal)
    location.client.destroy()
  }
}
