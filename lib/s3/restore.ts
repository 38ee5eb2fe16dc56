// restore(): finds the backups under a prefix (by their manifests), works out which of them must
// be received, in which order, to bring a destination up to one snapshot, and receives them.
// A backup provides the uuids of its subvolumes and needs its parents' and clone sources' uuids.
// Starting from the requested snapshot, each need is met by the destination (a subvolume there
// whose received uuid is that uuid: it was received before) or by another backup, whose own needs
// are then resolved first; a need met by neither is a broken chain. So a restore into an empty
// destination starts at the full stream, and a restore into one that holds part of the chain
// receives only the rest.
import type { S3Client } from '@aws-sdk/client-s3'
import { BtrfsError, InvalidArgumentError } from '../errors.js'
import type { ReceiveProgress, ReceivedSubvolume } from '../receive/index.js'
import { download } from './download.js'
import { fetchManifest, MANIFEST_SUFFIX, type BackupManifest } from './manifest.js'
import { withRetry, type RetryOptions } from './retry.js'
import { loadSdk } from './sdk.js'

export interface BackupLocation {
  client: S3Client
  bucket: string
  /** Key prefix the backups are under ('' for the whole bucket). */
  prefix: string
  retry?: RetryOptions
}

export interface RestoreOptions {
  /** The snapshot to restore: a subvolume name or uuid from the backups (default: the newest). */
  to?: string
  signal?: AbortSignal
  onProgress?: (progress: RestoreProgress) => void
}

export interface RestoreProgress extends ReceiveProgress {
  /** The backup being received, and its place in the plan. */
  key: string
  step: number
  steps: number
}

export interface RestoreResult {
  /** The backups received, in order. */
  received: { key: string; subvolumes: ReceivedSubvolume[] }[]
  /** The uuid of the requested snapshot and the backup that holds it. */
  target: { key: string; uuid: string; name: string }
}

/** Every backup (object with a manifest) under the prefix, in key order. */
export async function listBackups(location: BackupLocation, signal?: AbortSignal): Promise<BackupManifest[]> {
  const sdk = loadSdk()
  const { client, bucket, prefix } = location
  const retry = location.retry ?? {}
  const keys: string[] = []
  let token: string | undefined
  do {
    const page = await withRetry('ListObjectsV2', { bucket, key: prefix }, retry, signal, () =>
      client.send(new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }), { abortSignal: signal }))
    for (const o of page.Contents ?? []) if (o.Key?.endsWith(MANIFEST_SUFFIX)) keys.push(o.Key.slice(0, -MANIFEST_SUFFIX.length))
    token = page.IsTruncated ? page.NextContinuationToken : undefined
  } while (token)
  keys.sort()
  const out: BackupManifest[] = []
  for (const key of keys) {
    out.push(await withRetry('GetObject (manifest)', { bucket, key }, retry, signal, () => fetchManifest(sdk, client, bucket, key, signal)))
  }
  return out
}

/** The backup `to` names (subvolume name or uuid), or the newest one (highest ctransid). */
export function pickTarget(backups: BackupManifest[], to?: string): { backup: BackupManifest; uuid: string; name: string } {
  const candidates = backups.flatMap((b) => b.subvolumes.map((s) => ({ backup: b, uuid: s.uuid, name: s.name, ctransid: BigInt(s.ctransid) })))
  const matching = to === undefined ? candidates : candidates.filter((c) => c.uuid === to.toLowerCase() || c.name === to)
  if (matching.length === 0) {
    throw new BtrfsError('BTRFS_S3_BACKUP_NOT_FOUND', to === undefined ? 'no backups under the prefix' : `no backup under the prefix holds a subvolume named or with uuid '${to}'`)
  }
  // Newest: highest ctransid; among equal ones the later upload.
  matching.sort((a, b) => (a.ctransid === b.ctransid ? a.backup.uploaded.localeCompare(b.backup.uploaded) : a.ctransid < b.ctransid ? -1 : 1))
  return matching[matching.length - 1]
}

/** The backups to receive, in order, so that `target` ends up on a destination holding `have`. */
export function planChain(backups: BackupManifest[], target: BackupManifest, have: ReadonlySet<string>): BackupManifest[] {
  const provider = new Map<string, BackupManifest>()
  for (const b of backups) for (const s of b.subvolumes) if (!provider.has(s.uuid)) provider.set(s.uuid, b)
  const plan: BackupManifest[] = []
  const visiting = new Set<BackupManifest>()
  const visit = (b: BackupManifest): void => {
    if (plan.includes(b)) return
    if (visiting.has(b)) throw new BtrfsError('BTRFS_S3_CHAIN_BROKEN', `${b.key}: its parents form a cycle`)
    visiting.add(b)
    const own = new Set(b.subvolumes.map((s) => s.uuid))
    for (const s of b.subvolumes) {
      for (const need of [s.parentUuid, ...s.cloneUuids]) {
        if (need === null || own.has(need) || have.has(need)) continue
        const from = provider.get(need)
        if (!from) {
          throw new BtrfsError('BTRFS_S3_CHAIN_BROKEN', `${b.key} (${s.name}) needs subvolume ${need}, which is neither in a backup under the prefix nor received on the destination`)
        }
        visit(from)
      }
    }
    visiting.delete(b)
    plan.push(b)
  }
  visit(target)
  return plan.filter((b) => !b.subvolumes.every((s) => have.has(s.uuid)))
}

/** Restores the chain up to `options.to` (default: the newest backup) into `dest`. */
export async function restore(location: BackupLocation, dest: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  if (typeof location !== 'object' || location === null || typeof location.client?.send !== 'function') throw new InvalidArgumentError('location must be { client, bucket, prefix }')
  if (typeof location.bucket !== 'string' || location.bucket === '') throw new InvalidArgumentError('location.bucket must be a non-empty string')
  if (typeof location.prefix !== 'string') throw new InvalidArgumentError('location.prefix must be a string')
  if (options.to !== undefined && (typeof options.to !== 'string' || options.to === '')) throw new InvalidArgumentError('options.to must be a non-empty string')
  const { signal } = options
  // receive and the subvolume API (and with them the addon) load only for a restore: a program
  // that only uploads does not pay for them.
  const { receive } = require('../receive/index.js') as typeof import('../receive/index.js')
  const { list: listSubvolumes } = require('../subvolume/index.js') as typeof import('../subvolume/index.js')
  const backups = await listBackups(location, signal)
  const target = pickTarget(backups, options.to)
  const have = new Set<string>()
  for (const s of await listSubvolumes(dest)) if (s.receivedUuid) have.add(s.receivedUuid)
  const plan = planChain(backups, target.backup, have)
  const received: RestoreResult['received'] = []
  for (const [i, b] of plan.entries()) {
    const source = download({ client: location.client, bucket: location.bucket, key: b.key, signal, retry: location.retry })
    const onProgress = options.onProgress
    const result = await receive(source, dest, {
      signal,
      onProgress: onProgress && ((p) => onProgress({ ...p, key: b.key, step: i + 1, steps: plan.length })),
    })
    received.push({ key: b.key, subvolumes: result.subvolumes })
  }
  return { received, target: { key: target.backup.key, uuid: target.uuid, name: target.name } }
}
