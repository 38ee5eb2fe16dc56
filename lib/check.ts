// Argument checks shared by the public functions: each throws InvalidArgumentError naming the
// argument, so a wrong type never surfaces as a bare TypeError from deeper code.
import { InvalidArgumentError } from './errors.js'

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (value instanceof Uint8Array) return `${value.constructor.name}(${value.length})`
  return typeof value
}

/** `value` must be a Uint8Array (a Buffer is one), at least `minLength` bytes long. */
export function checkBytes(value: unknown, name: string, minLength = 0): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new InvalidArgumentError(`${name} must be a Buffer or Uint8Array, got ${describe(value)}`)
  if (value.length < minLength) throw new InvalidArgumentError(`${name} must be at least ${minLength} bytes, got ${value.length}`)
}

/** An options argument: undefined (no options) or a plain object. */
export function checkOptions<T extends object>(value: T | undefined, name = 'options'): T {
  if (value === undefined) return {} as T
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError(`${name} must be an object, got ${Array.isArray(value) ? 'array' : describe(value)}`)
  }
  return value
}

/** A timespec: `{ sec: bigint, nsec: integer 0..999999999 }`. */
export function checkTimespec(value: unknown, name: string): asserts value is { sec: bigint; nsec: number } {
  const ts = value as { sec?: unknown; nsec?: unknown } | null
  if (typeof ts !== 'object' || ts === null || typeof ts.sec !== 'bigint' || !Number.isInteger(ts.nsec)) {
    throw new InvalidArgumentError(`${name} must be a timespec { sec: bigint, nsec: number }`)
  }
}

/** An integer index into `buf`, in [0, length]. */
export function checkRange(buf: Uint8Array, start: unknown, end: unknown): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || (start as number) < 0 || (end as number) > buf.length || (start as number) > (end as number)) {
    throw new InvalidArgumentError(`range [${String(start)}, ${String(end)}) does not fit ${buf.length} bytes`)
  }
}

/** A byte source for parse()/receive(): a file path (only where allowed), or a (async) iterable of chunks. */
export function checkByteSource(value: unknown, name: string, pathAllowed: boolean): void {
  if (pathAllowed && typeof value === 'string') return
  const v = value as { [Symbol.asyncIterator]?: unknown; [Symbol.iterator]?: unknown } | null
  const iterable = v !== null && v !== undefined && typeof v !== 'string' &&
    (typeof v[Symbol.asyncIterator] === 'function' || typeof v[Symbol.iterator] === 'function')
  if (!iterable) {
    throw new InvalidArgumentError(`${name} must be a Readable or an (async) iterable of Uint8Array${pathAllowed ? ', or a file path' : ''}, got ${describe(value)}`)
  }
}
