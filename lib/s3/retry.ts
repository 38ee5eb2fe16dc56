// Bounded retries with exponential backoff and jitter for S3 requests, and the one place that
// turns an SDK failure into a coded S3RequestError. What is retried: network failures (no HTTP
// status: reset, refused, cut), 5xx, 408 and 429. A 4xx answer is the server's considered
// refusal and fails at once. Waiting between attempts ends early on abort.
import { AbortError, BtrfsError, type ErrorCode } from '../errors.js'

export interface RetryOptions {
  /** Tries per request, the first included (default 5). */
  attempts?: number
  /** Wait before the second try in ms, doubled for each further try (default 200). */
  baseDelayMs?: number
  /** Longest wait between tries in ms (default 10,000). */
  maxDelayMs?: number
}

/** An S3 request that failed for good; `cause` is the SDK's (or the network's) error. */
export class S3RequestError extends BtrfsError {
  readonly operation: string
  readonly bucket: string
  readonly key?: string
  /** HTTP status of the last answer, when there was one. */
  readonly statusCode?: number
  readonly attempts: number

  constructor(operation: string, where: { bucket: string; key?: string }, attempts: number, cause: unknown, code: ErrorCode = 'BTRFS_S3_REQUEST_FAILED') {
    const status = httpStatus(cause)
    const what = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)
    const target = `s3://${where.bucket}/${where.key ?? ''}`
    super(code, `${operation} ${target} failed${status === undefined ? '' : ` (HTTP ${status})`} after ${attempts} attempt(s): ${what}`, { cause })
    this.operation = operation
    this.bucket = where.bucket
    if (where.key !== undefined) this.key = where.key
    if (status !== undefined) this.statusCode = status
    this.attempts = attempts
  }
}

export function httpStatus(err: unknown): number | undefined {
  const meta = (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata
  return typeof meta?.httpStatusCode === 'number' ? meta.httpStatusCode : undefined
}

export function isRetryable(err: unknown): boolean {
  if (err instanceof BtrfsError) return false
  if ((err as { name?: string } | null)?.name === 'AbortError') return false
  const status = httpStatus(err)
  return status === undefined || status >= 500 || status === 408 || status === 429
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortError(undefined, { cause: signal.reason }))
    const done = () => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }
    const timer = setTimeout(done, ms)
    const onAbort = () => {
      clearTimeout(timer)
      reject(new AbortError(undefined, { cause: signal?.reason }))
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

export function backoff(attempt: number, options: RetryOptions): number {
  const base = options.baseDelayMs ?? 200
  const ms = Math.min(options.maxDelayMs ?? 10_000, base * 2 ** (attempt - 1))
  return ms / 2 + Math.random() * (ms / 2)
}

/**
 * Runs `fn` until it succeeds, fails with a non-retryable error, or the attempts are used up;
 * then throws an S3RequestError (or the AbortError when `signal` ended it).
 */
export async function withRetry<T>(
  operation: string,
  where: { bucket: string; key?: string },
  options: RetryOptions,
  signal: AbortSignal | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  const attempts = Math.max(1, options.attempts ?? 5)
  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason })
    try {
      return await fn()
    } catch (err) {
      if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason })
      // Our own coded errors (a bad manifest, say) already say what went wrong.
      if (err instanceof BtrfsError) throw err
      if (attempt >= attempts || !isRetryable(err)) throw new S3RequestError(operation, where, attempt, err)
    }
    await sleep(backoff(attempt, options), signal)
  }
}
