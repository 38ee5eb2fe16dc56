// The manifest stored next to every uploaded stream, at `<key>.manifest.json`: the stream's
// length and SHA-256 (download checks both) and, per subvolume, what restore orders a chain by
// (uuid, parent uuid, clone-source uuids, ctransid, name) plus the protocol version. It is a
// separate object because S3 fixes an object's metadata when a multipart upload starts, before
// the length and hash of a stream of unknown length are known. The fields known at that point
// are also set as the object's own metadata (x-amz-meta-btrfs-*) for people browsing a bucket.
import { BtrfsError } from '../errors.js'
import type { StreamDescription } from '../stream/describe.js'
import { httpStatus } from './retry.js'
import type { Sdk } from './sdk.js'
import type { S3Client } from '@aws-sdk/client-s3'

export const MANIFEST_SUFFIX = '.manifest.json'
const FORMAT = 'btrfs-stream-backup/1'

export interface ManifestSubvolume {
  name: string
  uuid: string
  /** Decimal string: ctransids are 64-bit. */
  ctransid: string
  parentUuid: string | null
  parentCtransid: string | null
  cloneUuids: string[]
}

export interface BackupManifest {
  format: typeof FORMAT
  /** Key of the stream object this manifest describes. */
  key: string
  bytes: number
  sha256: string
  protocol: number | null
  commands: number
  subvolumes: ManifestSubvolume[]
  /** The caller's metadata, as also set on the object. */
  metadata: Record<string, string>
  /** When the upload finished (ISO 8601). */
  uploaded: string
}

export function manifestKey(key: string): string {
  return key + MANIFEST_SUFFIX
}

export function buildManifest(key: string, d: StreamDescription, sha256: string, metadata: Record<string, string>): BackupManifest {
  return {
    format: FORMAT,
    key,
    bytes: d.bytes,
    sha256,
    protocol: d.version,
    commands: d.commands,
    subvolumes: d.subvolumes.map((s) => ({
      name: s.name,
      uuid: s.uuid,
      ctransid: s.ctransid.toString(),
      parentUuid: s.parentUuid,
      parentCtransid: s.parentCtransid === null ? null : s.parentCtransid.toString(),
      cloneUuids: s.cloneUuids,
    })),
    metadata,
    uploaded: new Date().toISOString(),
  }
}

/** Object metadata from what the stream's first command says (set when the upload starts). */
export function objectMetadata(d: StreamDescription, user: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = { ...user }
  const first = d.subvolumes[0]
  if (d.version !== null) out['btrfs-protocol'] = String(d.version)
  if (first) {
    out['btrfs-uuid'] = first.uuid
    out['btrfs-ctransid'] = first.ctransid.toString()
    if (first.parentUuid) out['btrfs-parent-uuid'] = first.parentUuid
  }
  return out
}

function notABackup(key: string, why: string, cause?: unknown): BtrfsError {
  return new BtrfsError('BTRFS_S3_NOT_A_BACKUP', `${key}: ${why}`, { cause })
}

/** Checks the shape of a parsed manifest; throws BTRFS_S3_NOT_A_BACKUP when it is not one. */
export function parseManifest(text: string, key: string): BackupManifest {
  let m: BackupManifest
  try {
    m = JSON.parse(text) as BackupManifest
  } catch (err) {
    throw notABackup(key, 'the manifest is not JSON', err)
  }
  const ok = typeof m === 'object' && m !== null && m.format === FORMAT && m.key === key &&
    Number.isSafeInteger(m.bytes) && m.bytes >= 0 && typeof m.sha256 === 'string' && /^[0-9a-f]{64}$/.test(m.sha256) &&
    Array.isArray(m.subvolumes) && m.subvolumes.every((s) => typeof s?.uuid === 'string' && typeof s.name === 'string' && Array.isArray(s.cloneUuids))
  if (!ok) throw notABackup(key, `the manifest is not a ${FORMAT} manifest for this key`)
  return m
}

/** Reads and checks the manifest of the stream object `key` (one GET, no retries of its own). */
export async function fetchManifest(sdk: Sdk, client: S3Client, bucket: string, key: string, signal?: AbortSignal): Promise<BackupManifest> {
  let res
  try {
    res = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: manifestKey(key) }), { abortSignal: signal })
  } catch (err) {
    if (httpStatus(err) === 404) throw notABackup(key, `no manifest (${manifestKey(key)}): not uploaded by btrfs-stream, or the upload did not finish`, err)
    throw err
  }
  const text = await res.Body!.transformToString()
  return parseManifest(text, key)
}
