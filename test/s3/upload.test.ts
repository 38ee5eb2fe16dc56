// upload() and download() against a real S3-compatible server (s3rver) through the fault proxy:
// single-part, empty and multipart streams round-trip with their manifest; failed parts are
// retried; an abort or a final failure leaves no object and closes the multipart upload; a
// download resumes from its offset after cut connections and rejects a changed object.
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { StreamEncoder } from '../../lib/index.js'
import { download, upload } from '../../lib/s3/index.js'
import { BUCKET, localS3, multipartOutcomes } from './support/local-s3.js'

const s3 = localS3()
const MiB = 1024 * 1024
const fast = { attempts: 4, baseDelayMs: 20 }

/** A valid v2 send stream of about `mib` MiB: one subvolume, one file written in 48 KiB commands. */
function sendStream(mib: number, seed = 1): Buffer {
  const enc = new StreamEncoder({ version: 2 })
  const uuid = Buffer.alloc(16, seed)
  const cmds: Parameters<StreamEncoder['stream']>[0] extends Iterable<infer C> ? C[] : never = [
    { type: 'subvol', path: Buffer.from(`snap-${seed}`), uuid, ctransid: 100n + BigInt(seed) },
    { type: 'mkfile', path: Buffer.from('f'), ino: 257n },
  ]
  const block = Buffer.alloc(48 * 1024)
  for (let off = 0; off < mib * MiB; off += block.length) {
    block.writeUInt32LE(off, 0)
    block.writeUInt32LE(seed, 4)
    cmds.push({ type: 'write', path: Buffer.from('f'), fileOffset: off, data: Buffer.from(block) })
  }
  cmds.push({ type: 'end' })
  return enc.stream(cmds)
}

function chunks(bytes: Buffer, size = 1 << 20): Readable {
  const parts: Buffer[] = []
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size))
  return Readable.from(parts)
}

async function collect(r: Readable): Promise<Buffer> {
  const out: Buffer[] = []
  for await (const c of r) out.push(c as Buffer)
  return Buffer.concat(out)
}

// Compared by digest: jest's toEqual walks a Buffer byte by byte (minutes for a few MiB).
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

test('a one-part stream goes up as one PutObject, with the manifest next to it, and comes back equal', async () => {
  const { client, proxy, keys } = s3()
  const bytes = sendStream(1)
  const result = await upload(chunks(bytes, 4096), { client, bucket: BUCKET, key: 'one/a.btrfs', metadata: { host: 'h1' } })
  expect(result.parts).toBe(0)
  expect(proxy.ops('CreateMultipartUpload', 'one/a.btrfs')).toHaveLength(0)
  expect(await keys('one/')).toEqual(['one/a.btrfs', 'one/a.btrfs.manifest.json'])
  expect(result.manifest).toMatchObject({
    bytes: bytes.length, sha256: sha(bytes), protocol: 2, metadata: { host: 'h1' },
    subvolumes: [{ name: 'snap-1', uuid: '01010101-0101-0101-0101-010101010101', ctransid: '101', parentUuid: null, cloneUuids: [] }],
  })
  expect(sha(await collect(download({ client, bucket: BUCKET, key: 'one/a.btrfs' })))).toBe(sha(bytes))
})

test('an empty stream stores an empty object and downloads as nothing', async () => {
  const { client } = s3()
  const result = await upload(Readable.from([]), { client, bucket: BUCKET, key: 'empty/e', retry: fast })
  expect(result.manifest).toMatchObject({ bytes: 0, sha256: sha(Buffer.alloc(0)), subvolumes: [] })
  expect((await collect(download({ client, bucket: BUCKET, key: 'empty/e' }))).length).toBe(0)
})

test('a multipart stream: parts as scheduled, failed parts retried, one Complete, equal bytes back', async () => {
  const { client, proxy } = s3()
  const bytes = sendStream(13, 2)
  // Reset the first try of part 2: it must be sent again.
  let resets = 0
  proxy.onRequest = (req, ctl) => {
    if (req.op === 'UploadPart' && req.key === 'multi/m' && /partNumber=2&/.test(req.url) && resets++ === 0) ctl.reset()
  }
  const seen: number[] = []
  try {
    const result = await upload(chunks(bytes), {
      client, bucket: BUCKET, key: 'multi/m', partSize: 5 * MiB, concurrency: 2, retry: fast, onProgress: (p) => seen.push(p.uploadedBytes),
    })
    expect(result.parts).toBe(3)
  } finally {
    proxy.onRequest = undefined
  }
  expect(resets).toBe(2)
  expect(proxy.ops('UploadPart', 'multi/m').map((r) => r.status)).toEqual(expect.arrayContaining([undefined, 200, 200, 200]))
  expect(multipartOutcomes(proxy, 'multi/m')).toEqual(['completed'])
  expect(seen[seen.length - 1]).toBe(bytes.length)
  expect(sha(await collect(download({ client, bucket: BUCKET, key: 'multi/m' })))).toBe(sha(bytes))
})

test('an abort mid-upload aborts the multipart upload and leaves no object', async () => {
  const { client, proxy, exists } = s3()
  const bytes = sendStream(20, 3)
  const controller = new AbortController()
  proxy.onRequest = (req, ctl) => {
    // Hold part 2 on the wire and abort while it is in flight.
    if (req.op === 'UploadPart' && /partNumber=2&/.test(req.url)) {
      ctl.stall()
      controller.abort(new Error('stop'))
    }
  }
  try {
    await expect(upload(chunks(bytes), { client, bucket: BUCKET, key: 'abort/a', partSize: 5 * MiB, signal: controller.signal, retry: fast }))
      .rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' })
  } finally {
    proxy.onRequest = undefined
  }
  // s3rver answers AbortMultipartUpload with 405 (not implemented); what we check is that the
  // client sent it for the upload it opened.
  expect(multipartOutcomes(proxy, 'abort/a')).toEqual(['aborted'])
  expect(await exists('abort/a')).toBe(false)
  expect(await exists('abort/a.manifest.json')).toBe(false)
})

test('parts failing for good: a coded error with the SDK error as cause, the upload aborted, no object', async () => {
  const { client, proxy, exists } = s3()
  proxy.onRequest = (req, ctl) => {
    if (req.op === 'UploadPart' && req.key === 'fail/f' && !/partNumber=1&/.test(req.url)) ctl.reset()
  }
  let err: unknown
  try {
    await upload(chunks(sendStream(12, 4)), { client, bucket: BUCKET, key: 'fail/f', partSize: 5 * MiB, retry: fast })
  } catch (e) {
    err = e
  } finally {
    proxy.onRequest = undefined
  }
  expect(err).toMatchObject({ code: 'BTRFS_S3_REQUEST_FAILED', operation: 'UploadPart', attempts: 4 })
  expect((err as Error).cause).toBeInstanceOf(Error)
  expect(multipartOutcomes(proxy, 'fail/f')).toEqual(['aborted'])
  expect(await exists('fail/f')).toBe(false)
})

test('a killed proxy mid-upload: the upload fails, and the abort gets through once the proxy is back', async () => {
  const { client, proxy, exists } = s3()
  let killed = false
  const back = new Promise<void>((resolve) => {
    proxy.onRequest = (req) => {
      if (!killed && req.op === 'UploadPart' && /partNumber=2&/.test(req.url)) {
        killed = true
        void proxy.kill().then(() => setTimeout(() => void proxy.listen().then(resolve), 1500))
      }
    }
  })
  try {
    await expect(upload(chunks(sendStream(20, 5)), { client, bucket: BUCKET, key: 'kill/p', partSize: 5 * MiB, retry: { attempts: 3, baseDelayMs: 50 } }))
      .rejects.toMatchObject({ code: 'BTRFS_S3_REQUEST_FAILED' })
  } finally {
    await back
    proxy.onRequest = undefined
  }
  expect(multipartOutcomes(proxy, 'kill/p')).toEqual(['aborted'])
  expect(await exists('kill/p')).toBe(false)
})

test('a killed server mid-upload: the upload fails; once it is back, the abort reaches it and no object exists', async () => {
  const fx = s3()
  let killed = false
  const back = new Promise<void>((resolve) => {
    fx.proxy.onRequest = (req) => {
      if (!killed && req.op === 'UploadPart' && /partNumber=2&/.test(req.url)) {
        killed = true
        void fx.killServer().then(() => setTimeout(() => void fx.restartServer().then(resolve), 1500))
      }
    }
  })
  try {
    await expect(upload(chunks(sendStream(20, 6)), { client: fx.client, bucket: BUCKET, key: 'kill/s', partSize: 5 * MiB, retry: { attempts: 3, baseDelayMs: 50 } }))
      .rejects.toMatchObject({ code: 'BTRFS_S3_REQUEST_FAILED' })
  } finally {
    await back
    fx.proxy.onRequest = undefined
  }
  expect(multipartOutcomes(fx.proxy, 'kill/s')).toEqual(['aborted'])
  expect(fx.proxy.ops('AbortMultipartUpload', 'kill/s').some((r) => r.status !== undefined)).toBe(true)
  expect(await fx.exists('kill/s')).toBe(false)
})

test('a download resumes from its offset after cut connections', async () => {
  const { client, proxy } = s3()
  const bytes = sendStream(6, 7)
  await upload(chunks(bytes), { client, bucket: BUCKET, key: 'resume/r' })
  let cuts = 0
  proxy.onRequest = (req, ctl) => {
    if (req.op === 'GetObject' && req.key === 'resume/r' && cuts < 3) {
      cuts++
      ctl.cutResponseAfter(1 * MiB)
    }
  }
  let stream
  try {
    stream = download({ client, bucket: BUCKET, key: 'resume/r', retry: fast })
    expect(sha(await collect(stream))).toBe(sha(bytes))
  } finally {
    proxy.onRequest = undefined
  }
  expect(stream.resumes).toBe(3)
  const ranges = proxy.ops('GetObject', 'resume/r').length
  expect(ranges).toBe(4)
})

test('a download whose connection goes silent drops it after stallTimeoutMs and resumes', async () => {
  const { client, proxy } = s3()
  const bytes = sendStream(2, 9)
  await upload(chunks(bytes), { client, bucket: BUCKET, key: 'stall/s' })
  let stalls = 0
  proxy.onRequest = (req, ctl) => {
    if (req.op === 'GetObject' && req.key === 'stall/s' && stalls++ === 0) ctl.stall()
  }
  const stream = download({ client, bucket: BUCKET, key: 'stall/s', retry: fast, stallTimeoutMs: 300 })
  try {
    expect(sha(await collect(stream))).toBe(sha(bytes))
  } finally {
    proxy.onRequest = undefined
  }
  expect(stream.resumes).toBe(1)
  expect(proxy.ops('GetObject', 'stall/s')).toHaveLength(2)
})

test('a download fails with a coded error when the object differs from its manifest', async () => {
  const { client, direct } = s3()
  const bytes = sendStream(1, 8)
  await upload(chunks(bytes), { client, bucket: BUCKET, key: 'bad/b' })
  const flipped = Buffer.from(bytes)
  flipped[flipped.length - 20] ^= 1
  await direct.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'bad/b', Body: flipped }))
  await expect(collect(download({ client, bucket: BUCKET, key: 'bad/b' }))).rejects.toMatchObject({ code: 'BTRFS_S3_CHECKSUM_MISMATCH' })
  await direct.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'bad/b', Body: bytes.subarray(0, bytes.length - 1) }))
  await expect(collect(download({ client, bucket: BUCKET, key: 'bad/b' }))).rejects.toMatchObject({ code: 'BTRFS_S3_LENGTH_MISMATCH' })
  const res = await direct.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'bad/b.manifest.json' }))
  expect(JSON.parse(await res.Body!.transformToString()).sha256).toBe(sha(bytes))
  await expect(collect(download({ client, bucket: BUCKET, key: 'nothing/here', retry: fast }))).rejects.toMatchObject({ code: 'BTRFS_S3_NOT_A_BACKUP' })
})

test('a stream that is not a valid send stream is refused before anything is stored', async () => {
  const { client, exists } = s3()
  await expect(upload(Readable.from([Buffer.from('not a btrfs stream at all, just text')]), { client, bucket: BUCKET, key: 'junk/j' }))
    .rejects.toMatchObject({ code: 'BTRFS_STREAM_BAD_MAGIC' })
  expect(await exists('junk/j')).toBe(false)
})
