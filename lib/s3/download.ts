// download(): a Readable of an uploaded stream, checked against its manifest. It reads with one
// ranged GET from the current offset; when a connection drops (an error or a body shorter than
// the range), it asks again from the byte it reached, pinned to the same object version by
// If-Match on the ETag, up to a bounded number of consecutive failures. At the end the length
// and SHA-256 must equal the manifest's; a longer object fails as soon as the server says so.
// A connection silent for stallTimeoutMs counts as dropped. Backpressure: the next body chunk
// is read only when the consumer wants more.
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import type { S3Client } from '@aws-sdk/client-s3'
import { AbortError, BtrfsError, InvalidArgumentError } from '../errors.js'
import { fetchManifest, type BackupManifest } from './manifest.js'
import { backoff, isRetryable, S3RequestError, sleep, withRetry, type RetryOptions } from './retry.js'
import { loadSdk, type Sdk } from './sdk.js'

export interface DownloadOptions {
  client: S3Client
  bucket: string
  key: string
  signal?: AbortSignal
  /** Retries per request and per dropped connection (defaults: 5 tries, 200 ms doubling). */
  retry?: RetryOptions
  /** A connection that delivers nothing for this long is dropped and resumed (default 60,000 ms). */
  stallTimeoutMs?: number
}

export function download(options: DownloadOptions): DownloadStream {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('download options must be an object')
  if (typeof options.client?.send !== 'function') throw new InvalidArgumentError('options.client must be an S3Client')
  if (typeof options.bucket !== 'string' || options.bucket === '') throw new InvalidArgumentError('options.bucket must be a non-empty string')
  if (typeof options.key !== 'string' || options.key === '') throw new InvalidArgumentError('options.key must be a non-empty string')
  const stall = options.stallTimeoutMs
  if (stall !== undefined && !(Number.isFinite(stall) && stall > 0)) throw new InvalidArgumentError(`options.stallTimeoutMs must be a positive number, got ${String(stall)}`)
  return new DownloadStream(loadSdk(), options)
}

export class DownloadStream extends Readable {
  readonly #sdk: Sdk
  readonly #o: DownloadOptions
  readonly #cancel = new AbortController()
  #started = false
  #wake: (() => void) | undefined
  /** The manifest, once read (before the first byte is delivered). */
  manifest: BackupManifest | undefined
  /** Bytes delivered so far. */
  offset = 0
  /** Connections that dropped and were resumed. */
  resumes = 0

  constructor(sdk: Sdk, o: DownloadOptions) {
    super({ highWaterMark: 1 << 20 })
    this.#sdk = sdk
    this.#o = o
    const { signal } = o
    if (signal) {
      const onAbort = () => this.destroy(new AbortError(undefined, { cause: signal.reason }))
      if (signal.aborted) queueMicrotask(onAbort)
      else {
        signal.addEventListener('abort', onAbort, { once: true })
        this.once('close', () => signal.removeEventListener('abort', onAbort))
      }
    }
  }

  override _read(): void {
    if (this.#started) {
      const wake = this.#wake
      this.#wake = undefined
      wake?.()
      return
    }
    this.#started = true
    this.#pump().then(
      () => this.push(null),
      (err: unknown) => this.destroy(err as Error),
    )
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.#cancel.abort(err ?? new AbortError())
    this.#wake?.()
    callback(err)
  }

  async #pump(): Promise<void> {
    const { bucket, key } = this.#o
    const where = { bucket, key }
    const retry = this.#o.retry ?? {}
    const signal = this.#cancel.signal
    const manifest = await withRetry('GetObject (manifest)', where, retry, signal, () => fetchManifest(this.#sdk, this.#o.client, bucket, key, signal))
    this.manifest = manifest
    const hash = createHash('sha256')
    let etag: string | undefined
    let failures = 0
    const attempts = Math.max(1, retry.attempts ?? 5)
    const stallMs = this.#o.stallTimeoutMs ?? 60_000
    while (this.offset < manifest.bytes) {
      const before = this.offset
      // A connection that stays silent is as broken as a dropped one: a watchdog, armed only
      // while waiting for the network (not while the consumer applies backpressure), ends it.
      const attempt = new AbortController()
      let stalled = false
      let timer: NodeJS.Timeout | undefined
      const arm = () => {
        clearTimeout(timer)
        timer = setTimeout(() => {
          stalled = true
          attempt.abort(new Error(`no data for ${stallMs} ms`))
        }, stallMs)
      }
      try {
        arm()
        const res = await this.#o.client.send(new this.#sdk.GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${this.offset}-`, IfMatch: etag }), { abortSignal: AbortSignal.any([signal, attempt.signal]) })
        etag ??= res.ETag
        const total = /\/(\d+)$/.exec(res.ContentRange ?? '')?.[1]
        if (total !== undefined && Number(total) !== manifest.bytes) throw this.#lengthMismatch(`is ${total} bytes long`)
        const body = res.Body as Readable
        attempt.signal.addEventListener('abort', () => body.destroy(attempt.signal.reason as Error), { once: true })
        for await (const chunk of body as AsyncIterable<Buffer>) {
          clearTimeout(timer)
          if (this.offset + chunk.length > manifest.bytes) throw this.#lengthMismatch(`holds more than ${manifest.bytes} bytes`)
          hash.update(chunk)
          this.offset += chunk.length
          if (!this.push(chunk)) await new Promise<void>((resolve) => (this.#wake = resolve))
          if (signal.aborted) throw signal.reason
          arm()
        }
        if (this.offset < manifest.bytes) throw Object.assign(new Error(`connection ended at byte ${this.offset} of ${manifest.bytes}`), { name: 'ShortRead' })
      } catch (caught) {
        const err = stalled && !signal.aborted ? attempt.signal.reason : caught
        if (signal.aborted || err instanceof BtrfsError || !isRetryable(err)) throw err instanceof BtrfsError || signal.aborted ? err : new S3RequestError('GetObject', where, failures + 1, err)
        // A connection that delivered bytes resets the count: only failures in a row are bounded.
        failures = this.offset > before ? 1 : failures + 1
        if (failures >= attempts) throw new S3RequestError('GetObject', where, failures, err)
        this.resumes++
        await sleep(backoff(failures, retry), signal)
      } finally {
        clearTimeout(timer)
      }
    }
    const sha = hash.digest('hex')
    if (sha !== manifest.sha256) {
      throw new BtrfsError('BTRFS_S3_CHECKSUM_MISMATCH', `s3://${bucket}/${key}: SHA-256 ${sha} differs from the manifest's ${manifest.sha256}`)
    }
  }

  #lengthMismatch(what: string): BtrfsError {
    const { bucket, key } = this.#o
    return new BtrfsError('BTRFS_S3_LENGTH_MISMATCH', `s3://${bucket}/${key} ${what}, its manifest says ${this.manifest?.bytes}`)
  }
}
