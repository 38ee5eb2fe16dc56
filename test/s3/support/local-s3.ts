// The S3 side of the S3 tests: a real S3-compatible server (s3rver, in a child process, data in a
// temp dir, on a free port of 127.0.0.1) behind a FaultProxy, set up in beforeAll and always
// torn down in afterAll. Clients go through the proxy with the SDK's own retries off, so what a
// test sees is our retry logic; `direct` bypasses the proxy to inspect the bucket.
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import { startS3rver, stopS3rver, type LocalS3 } from '../../../scripts/s3rver.js'
import { FaultProxy } from './fault-proxy.js'

export const BUCKET = 'backups'
export const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }

export interface S3Fixture {
  server: LocalS3
  proxy: FaultProxy
  /** Through the proxy, SDK retries off. */
  client: S3Client
  /** Straight to the server. */
  direct: S3Client
  dir: string
  /** Kills the server process (SIGKILL). */
  killServer(): Promise<void>
  /** Starts the server again on the same port and data directory. */
  restartServer(): Promise<void>
  /** Keys in the bucket under `prefix`. */
  keys(prefix?: string): Promise<string[]>
  exists(key: string): Promise<boolean>
}

export function makeClient(endpoint: string, maxAttempts = 1): S3Client {
  return new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: CREDENTIALS, maxAttempts })
}

export function localS3(): () => S3Fixture {
  let fixture: S3Fixture | undefined
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'btrfs-stream-s3-'))
    const data = path.join(dir, 'data')
    let server = await startS3rver(data, [BUCKET])
    const proxy = new FaultProxy(server.port)
    await proxy.listen()
    const direct = makeClient(server.endpoint, 3)
    fixture = {
      get server() {
        return server
      },
      proxy,
      client: makeClient(proxy.endpoint),
      direct,
      dir,
      killServer: () => stopS3rver(server),
      restartServer: async () => {
        server = await startS3rver(data, [BUCKET], server.port)
      },
      keys: async (prefix = '') => {
        const res = await direct.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }))
        return (res.Contents ?? []).map((o) => o.Key!).sort()
      },
      exists: async (key) => {
        try {
          await direct.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))
          return true
        } catch (err) {
          if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false
          throw err
        }
      },
    }
  })
  afterAll(async () => {
    if (!fixture) return
    fixture.client.destroy()
    fixture.direct.destroy()
    await fixture.proxy.kill()
    await stopS3rver(fixture.server)
    rmSync(fixture.dir, { recursive: true, force: true })
    fixture = undefined
  })
  return () => fixture!
}

/**
 * What the request log says about multipart uploads of `key`: every CreateMultipartUpload must
 * be followed by a CompleteMultipartUpload or an AbortMultipartUpload. s3rver cannot be asked
 * (it has no ListMultipartUploads, and answers Abort with 405 because it does not implement
 * it), so the proxy's log is the evidence that the client closed each upload it opened.
 * Result: one entry per answered Create, 'completed', 'aborted' or still 'open'.
 */
export function multipartOutcomes(proxy: FaultProxy, key: string): string[] {
  const out: string[] = []
  for (const r of proxy.log) {
    if (r.key !== key) continue
    // A Create the server never answered (a keep-alive connection that closed under it, a reset)
    // opened nothing the client could know of; the SDK sends it again.
    if (r.op === 'CreateMultipartUpload' && r.status !== undefined) out.push('open')
    else if ((r.op === 'CompleteMultipartUpload' || r.op === 'AbortMultipartUpload') && out[out.length - 1] === 'open') {
      out[out.length - 1] = r.op === 'CompleteMultipartUpload' ? 'completed' : 'aborted'
    }
  }
  return out
}
