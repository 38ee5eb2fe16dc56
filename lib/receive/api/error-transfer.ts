// Errors cross the worker boundary as plain objects (structured clone drops classes): the worker
// flattens an error with its cause chain, the caller's thread rebuilds it as the same class
// (ReceiveError, StreamFormatError, BtrfsSystemError, BtrfsError, AbortError) with every field,
// message and the worker's stack intact, so `instanceof` and `err.cause.code` work for users.
import { AbortError, BtrfsError, BtrfsSystemError, InvalidArgumentError, StreamFormatError } from '../../errors.js'
import { ReceiveError } from '../engine/receive-error.js'

export interface ErrorRecord {
  name: string
  message: string
  stack?: string
  fields: Record<string, unknown>
  cause?: ErrorRecord | { value: unknown }
}

const CLASSES: Record<string, { prototype: object }> = {
  ReceiveError,
  StreamFormatError,
  BtrfsSystemError,
  BtrfsError,
  InvalidArgumentError,
  AbortError,
}

export function flattenError(err: unknown, depth = 0): ErrorRecord {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err), fields: {} }
  const fields: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(err)) {
    if (k === 'cause' || k === 'name' || k === 'message' || k === 'stack') continue
    if (v === undefined || typeof v === 'function') continue
    fields[k] = v
  }
  const record: ErrorRecord = { name: err.name, message: err.message, stack: err.stack, fields }
  const cause = (err as { cause?: unknown }).cause
  if (cause !== undefined && depth < 8) {
    record.cause = cause instanceof Error ? flattenError(cause, depth + 1) : { value: safeValue(cause) }
  }
  return record
}

function safeValue(v: unknown): unknown {
  try {
    structuredClone(v)
    return v
  } catch {
    return String(v)
  }
}

export function rebuildError(record: ErrorRecord): Error {
  const proto = CLASSES[record.name]?.prototype ?? Error.prototype
  const err = Object.create(proto) as Error
  Object.defineProperty(err, 'message', { value: record.message, writable: true, configurable: true, enumerable: false })
  if (proto === Error.prototype || record.name === 'AbortError') {
    Object.defineProperty(err, 'name', { value: record.name, writable: true, configurable: true, enumerable: false })
  } else {
    err.name = record.name
  }
  Object.defineProperty(err, 'stack', { value: record.stack, writable: true, configurable: true, enumerable: false })
  Object.assign(err, record.fields)
  if (record.cause) {
    const cause = 'value' in record.cause ? record.cause.value : rebuildError(record.cause)
    Object.defineProperty(err, 'cause', { value: cause, writable: true, configurable: true, enumerable: false })
  }
  return err
}
