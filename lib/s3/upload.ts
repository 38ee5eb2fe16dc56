// upload(): a send stream of unknown length into one S3 object plus its manifest. Bytes are
// copied once, into a part buffer of the schedule's size (part-size.ts); a full part is sent
// only when the next byte arrives, so a stream that fits one part becomes a plain PutObject.
// At most `concurrency` parts are in flight; while they are, the source is not read, so memory
// is bounded by (concurrency + 1) part buffers. The SHA-256 and the stream description
// (describe.ts) are computed as the bytes pass. Any failure or abort cancels the requests in
// flight, destroys the source (which stops a kernel send) and aborts the multipart upload; the
// manifest is written last, and if that fails the object is deleted again, so a key either
// holds a complete backup with its manifest or nothing.
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import type { S3Client } from '@aws-sdk/client-s3'
import { AbortError, BtrfsError, InvalidArgumentError } from '../errors.js'
import { StreamDescriber } from '../stream/describe.js'
import type { ByteSource } from '../stream/parser.js'
import { buildManifest, manifestKey, objectMetadata, type BackupManifest } from './manifest.js'
import { DEFAULT_PART_SIZE, MAX_OBJECT_SIZE, MAX_PARTS, MAX_PART_SIZE, MIN_PART_SIZE, partSizeAt } from './part-size.js'
import { withRetry, type RetryOptions } from './retry.js'
import { loadSdk, type Sdk } from './sdk.js'

export interface UploadProgress {
  /** Bytes read from the source so far. */
  bytes: number
  /** Bytes whose upload the server has confirmed. */
  uploadedBytes: number
  /** Parts started so far (0 while the stream still fits one PutObject). */
  parts: number
}

export interface UploadOptions {
  client: S3Client
  bucket: string
  key: string
  /** First part size in bytes (default 8 MiB, at least 5 MiB); later parts grow, see part-size.ts. */
  partSize?: number
  /** Parts uploaded at once (default 4). */
  concurrency?: number
  signal?: AbortSignal
  onProgress?: (progress: UploadProgress) => void
  /** Extra object metadata (x-amz-meta-*), also kept in the manifest. */
  metadata?: Record<string, string>
  /** Retries of each request (defaults: 5 tries, 200 ms doubling). */
  retry?: RetryOptions
}

export interface UploadResult {
  bucket: string
  key: string
  manifestKey: string
  manifest: BackupManifest
  /** Number of parts, or 0 when the stream went up in one PutObject. */
  parts: number
}

function validate(o: UploadOptions): void {
  if (typeof o !== 'object' || o === null) throw new InvalidArgumentError('upload options must be an object')
  if (typeof o.client?.send !== 'function') throw new InvalidArgumentError('options.client must be an S3Client')
  if (typeof o.bucket !== 'string' || o.bucket === '') throw new InvalidArgumentError('options.bucket must be a non-empty string')
  if (typeof o.key !== 'string' || o.key === '') throw new InvalidArgumentError('options.key must be a non-empty string')
  const ps = o.partSize
  if (ps !== undefined && !(Number.isSafeInteger(ps) && ps >= MIN_PART_SIZE && ps <= MAX_PART_SIZE)) {
    throw new InvalidArgumentError(`options.partSize must be an integer from ${MIN_PART_SIZE} to ${MAX_PART_SIZE}, got ${String(ps)}`)
  }
  const c = o.concurrency
  if (c !== undefined && !(Number.isSafeInteger(c) && c >= 1)) throw new InvalidArgumentError(`options.concurrency must be a positive integer, got ${String(c)}`)
  if (o.metadata !== undefined && (typeof o.metadata !== 'object' || Object.values(o.metadata).some((v) => typeof v !== 'string'))) {
    throw new InvalidArgumentError('options.metadata must map names to strings')
  }
}

/** Uploads `source` (a send stream) to s3://bucket/key and its manifest next to it. */
export async function upload(source: ByteSource, options: UploadOptions): Promise<UploadResult> {
  validate(options)
  const sdk = loadSdk()
  const job = new UploadJob(sdk, options, source instanceof Readable ? source : Readable.from(source as AsyncIterable<Uint8Array>))
  return job.run()
}

class UploadJob {
  readonly #sdk: Sdk
  readonly #o: UploadOptions
  readonly #source: Readable
  readonly #where: { bucket: string; key: string }
  readonly #first: number
  readonly #concurrency: number
  /** Cancels requests in flight when the upload fails or the caller aborts. */
  readonly #cancel = new AbortController()
  readonly #hash = createHash('sha256')
  readonly #describer = new StreamDescriber()
  readonly #inflight = new Set<Promise<void>>()
  readonly #etags: string[] = []
  #failure: unknown
  #uploadId: string | undefined
  #part: Buffer | undefined
  #fill = 0
  #parts = 0
  #bytes = 0
  #uploaded = 0

  constructor(sdk: Sdk, o: UploadOptions, source: Readable) {
    this.#sdk = sdk
    this.#o = o
    this.#source = source
    this.#where = { bucket: o.bucket, key: o.key }
    this.#first = o.partSize ?? DEFAULT_PART_SIZE
    this.#concurrency = o.concurrency ?? 4
  }

  async run(): Promise<UploadResult> {
    const { signal } = this.#o
    if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason })
    const onAbort = () => this.#fail(new AbortError(undefined, { cause: signal?.reason }))
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      for await (const chunk of this.#source) {
        this.#check()
        await this.#take(chunk as Uint8Array)
      }
      this.#check()
      const description = this.#describer.end()
      const sha256 = this.#hash.digest('hex')
      const metadata = this.#o.metadata ?? {}
      if (this.#uploadId === undefined) {
        await this.#request('PutObject', this.#where, (c, o) => c.send(new this.#sdk.PutObjectCommand({
          Bucket: this.#o.bucket, Key: this.#o.key, Body: this.#part?.subarray(0, this.#fill) ?? Buffer.alloc(0),
          ContentLength: this.#fill, Metadata: objectMetadata(description, metadata),
        }), o))
        this.#uploaded = this.#fill
      } else {
        await this.#sendPart()
        await Promise.all(this.#inflight)
        this.#check()
        await this.#request('CompleteMultipartUpload', this.#where, (c, o) => c.send(new this.#sdk.CompleteMultipartUploadCommand({
          Bucket: this.#o.bucket, Key: this.#o.key, UploadId: this.#uploadId,
          MultipartUpload: { Parts: this.#etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
        }), o))
        this.#uploadId = undefined
      }
      this.#part = undefined
      this.#progress()
      const manifest = buildManifest(this.#o.key, description, sha256, metadata)
      await this.#writeManifest(manifest)
      return { bucket: this.#o.bucket, key: this.#o.key, manifestKey: manifestKey(this.#o.key), manifest, parts: this.#parts }
    } catch (err) {
      this.#fail(err)
      await this.#cleanUp()
      throw this.#failure
    } finally {
      signal?.removeEventListener('abort', onAbort)
    }
  }

  /** Records the first failure, cancels what is in flight and stops the source. */
  #fail(err: unknown): void {
    if (this.#failure !== undefined) return
    this.#failure = err
    this.#cancel.abort(err)
    this.#source.destroy()
  }

  #check(): void {
    if (this.#failure !== undefined) throw this.#failure
  }

  async #take(chunk: Uint8Array): Promise<void> {
    this.#hash.update(chunk)
    this.#describer.push(chunk)
    this.#bytes += chunk.length
    if (this.#bytes > MAX_OBJECT_SIZE) throw new BtrfsError('BTRFS_S3_TOO_LARGE', `the stream is longer than ${MAX_OBJECT_SIZE} bytes, the largest S3 object`)
    for (let off = 0; off < chunk.length;) {
      if (this.#part !== undefined && this.#fill === this.#part.length) await this.#sendPart()
      if (this.#part === undefined) {
        this.#part = Buffer.allocUnsafeSlow(partSizeAt(this.#parts, this.#first))
        this.#fill = 0
      }
      const n = Math.min(chunk.length - off, this.#part.length - this.#fill)
      this.#part.set(chunk.subarray(off, off + n), this.#fill)
      this.#fill += n
      off += n
    }
    this.#progress()
  }

  /** Sends the current part buffer as the next part, after waiting for a free slot. */
  async #sendPart(): Promise<void> {
    const body = this.#part!.subarray(0, this.#fill)
    this.#part = undefined
    while (this.#inflight.size >= this.#concurrency) await Promise.race(this.#inflight)
    this.#check()
    if (this.#uploadId === undefined) await this.#create()
    if (this.#parts >= MAX_PARTS) throw new BtrfsError('BTRFS_S3_TOO_LARGE', `the stream needs more than ${MAX_PARTS} parts`)
    const number = ++this.#parts
    const task = this.#request('UploadPart', this.#where, (c, o) => c.send(new this.#sdk.UploadPartCommand({
      Bucket: this.#o.bucket, Key: this.#o.key, UploadId: this.#uploadId, PartNumber: number, Body: body, ContentLength: body.length,
    }), o)).then((res) => {
      this.#etags[number - 1] = res.ETag!
      this.#uploaded += body.length
      this.#progress()
    }, (err: unknown) => this.#fail(err))
    const tracked = task.finally(() => this.#inflight.delete(tracked))
    this.#inflight.add(tracked)
  }

  async #create(): Promise<void> {
    // The first part is at least 5 MiB, so the stream's first command (and its uuids) is known.
    const metadata = objectMetadata(this.#describer.description, this.#o.metadata ?? {})
    const res = await this.#request('CreateMultipartUpload', this.#where, (c, o) => c.send(new this.#sdk.CreateMultipartUploadCommand({
      Bucket: this.#o.bucket, Key: this.#o.key, Metadata: metadata,
    }), o))
    this.#uploadId = res.UploadId
  }

  async #writeManifest(manifest: BackupManifest): Promise<void> {
    const key = manifestKey(this.#o.key)
    try {
      await this.#request('PutObject', { bucket: this.#o.bucket, key }, (c, o) => c.send(new this.#sdk.PutObjectCommand({
        Bucket: this.#o.bucket, Key: key, Body: JSON.stringify(manifest, null, 1), ContentType: 'application/json',
      }), o))
    } catch (err) {
      // Without its manifest the object is not a backup: remove it rather than leave a stray.
      this.#fail(err)
      await this.#bestEffort('DeleteObject', (c) => c.send(new this.#sdk.DeleteObjectCommand({ Bucket: this.#o.bucket, Key: this.#o.key })))
      throw err
    }
  }

  async #cleanUp(): Promise<void> {
    await Promise.allSettled(this.#inflight)
    this.#part = undefined
    if (this.#uploadId !== undefined) {
      const UploadId = this.#uploadId
      await this.#bestEffort('AbortMultipartUpload', (c) => c.send(new this.#sdk.AbortMultipartUploadCommand({ Bucket: this.#o.bucket, Key: this.#o.key, UploadId })))
    }
  }

  /**
   * A clean-up request, sent with its own retries (not under the cancelled signal). Its failure
   * is kept on the upload's error as `cleanupError` rather than hiding the first failure.
   */
  async #bestEffort(operation: string, send: (client: S3Client) => Promise<unknown>): Promise<void> {
    // More tries than a data request: an upload left open is billed until a lifecycle rule
    // removes it, so outliving a short outage is worth the wait.
    const retry = { ...this.#o.retry, attempts: Math.max(8, this.#o.retry?.attempts ?? 5) }
    try {
      await withRetry(operation, this.#where, retry, undefined, () => send(this.#o.client))
    } catch (err) {
      if (this.#failure instanceof Error && !('cleanupError' in this.#failure)) Object.assign(this.#failure, { cleanupError: err })
    }
  }

  /** One request with retries, cancelled when the upload fails. */
  #request<T>(operation: string, where: { bucket: string; key: string }, send: (client: S3Client, opts: { abortSignal: AbortSignal }) => Promise<T>): Promise<T> {
    const opts = { abortSignal: this.#cancel.signal }
    return withRetry(operation, where, this.#o.retry ?? {}, this.#cancel.signal, () => send(this.#o.client, opts))
  }

  #progress(): void {
    this.#o.onProgress?.({ bytes: this.#bytes, uploadedBytes: this.#uploaded, parts: this.#parts })
  }
}
