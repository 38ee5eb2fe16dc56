// `s3://BUCKET/KEY` arguments of the CLI: parsing, the S3 client, and the source and target the
// receive, send and restore commands open on such a URL. The client is configured the AWS SDK's
// standard way (credentials chain, AWS_REGION, AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL);
// BTRFS_STREAM_S3_FORCE_PATH_STYLE=1 selects path-style addressing for servers that need it.
// The SDK and lib/s3 load only when an s3:// URL is used.
import type { S3Client } from '@aws-sdk/client-s3'
import type { SendOptions } from '../send/index.js'

export interface S3Url {
  bucket: string
  /** The key (for a prefix, what follows the bucket, possibly ''). */
  key: string
}

/** A usage error worded for the user (printed as `ERROR: …`, exit code 1). */
export class S3UrlError extends Error {}

export function isS3Url(text: string | undefined): text is string {
  return text !== undefined && text.startsWith('s3://')
}

export function parseS3Url(text: string, what: 'key' | 'prefix'): S3Url {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(text)
  if (!m || m[1].length < 3) throw new S3UrlError(`'${text}' is not an s3://BUCKET/${what.toUpperCase()} URL`)
  if (what === 'key' && (m[2] === '' || m[2].endsWith('/'))) throw new S3UrlError(`'${text}' names no object: use s3://BUCKET/KEY`)
  return { bucket: m[1], key: m[2] }
}

export function s3ClientFromEnv(): S3Client {
  const { loadSdk } = require('../s3/sdk.js') as typeof import('../s3/sdk.js')
  const sdk = loadSdk()
  return new sdk.S3Client({ forcePathStyle: process.env.BTRFS_STREAM_S3_FORCE_PATH_STYLE === '1' })
}

/** A Readable of the backup at `url`, checked against its manifest (see lib/s3/download.ts). */
export function openS3Source(url: string, signal?: AbortSignal): { stream: import('node:stream').Readable; close(): void } {
  const { bucket, key } = parseS3Url(url, 'key')
  const client = s3ClientFromEnv()
  const { download } = require('../s3/download.js') as typeof import('../s3/download.js')
  return { stream: download({ client, bucket, key, signal }), close: () => client.destroy() }
}

/** Where `btrfs-stream send -f s3://…` writes: upload() of the send stream (with its manifest). */
export function openS3Target(url: string): {
  send(subvolumes: string[], options: Omit<SendOptions, 'highWaterMark'>): Promise<number>
  discard(): void
  close(): void
} {
  const { bucket, key } = parseS3Url(url, 'key')
  const client = s3ClientFromEnv()
  return {
    send: async (subvolumes, options) => {
      const { send } = require('../send/index.js') as typeof import('../send/index.js')
      const { upload } = require('../s3/upload.js') as typeof import('../s3/upload.js')
      const result = await upload(send(subvolumes, options), { client, bucket, key, signal: options.signal })
      return result.manifest.bytes
    },
    // upload() already removed the object and aborted the multipart upload on failure.
    discard: () => {},
    close: () => client.destroy(),
  }
}
