// The error contract: every export of the public entry, called with wrong arguments, fails only
// with a BtrfsError whose code is in the registry (no bare TypeError/RangeError/Error escapes).
// Promises are awaited, async iterables drained, Readables read to their end or 'error'.
import { Duplex, Readable } from 'node:stream'
import * as api from '../../lib/index'
import { constants } from 'node:os'
import { BtrfsError, BtrfsSystemError, errnoName, isErrorCode } from '../../lib/errors'

const MISSING = '/nonexistent-btrfs-stream-contract/x'
/** Wrong values of every JS type (no path that exists: nothing here may touch a real file). */
const BAD: unknown[] = [
  undefined, null, 0, -1, 1.5, NaN, 2 ** 53, 10n, -1n, '', MISSING, `${MISSING}/NOT_A_CODE`, true, Symbol('s'), {}, [], [MISSING],
  () => 1, Buffer.alloc(0), new Uint8Array(3), { fd: -1 }, { sec: 1 }, { type: 'utimes' }, { type: 'unknown' }, new Date(NaN),
]
/** Exports that are data, not callable API. */
const DATA = new Set(['ERROR_CODES', 'WARNING_CODES', 'COMMANDS', 'ATTRIBUTES', 'CMD', 'ATTR', 'DEFAULT_MAX_COMMAND_LENGTH', 'RECEIVE_TEMP_PREFIX'])

/** Runs what a call returned to its end: awaits promises, drains iterators and Readables. */
async function settle(value: unknown): Promise<void> {
  if (value instanceof Readable) {
    await new Promise<void>((resolve, reject) => {
      value.on('error', reject).on('end', resolve).on('close', resolve)
      value.resume()
      // A Transform (createParser) gets garbage, then its end.
      if (value instanceof Duplex) value.end(Buffer.from('not a stream'))
    })
    return
  }
  if (value instanceof Promise) {
    await value
    return
  }
  if (value !== null && typeof value === 'object' && Symbol.asyncIterator in value) {
    let n = 0
    for await (const _ of value as AsyncIterable<unknown>) if (++n > 1000) break
  }
}

function isClass(f: unknown): f is new (...args: unknown[]) => object {
  return typeof f === 'function' && /^class\b/.test(Function.prototype.toString.call(f))
}

interface Failure {
  call: string
  error: unknown
}

async function attempt(call: string, run: () => unknown, failures: Failure[], errors: unknown[]): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('no answer within 2 s')), 2_000)
  })
  try {
    await Promise.race([settle(run()), hang])
  } catch (error) {
    errors.push(error)
    if (!(error instanceof BtrfsError) || !isErrorCode(error.code)) failures.push({ call, error })
  } finally {
    clearTimeout(timer)
  }
}

/** Argument lists putting each bad value in each position, the others filled with `fill`. */
function argumentLists(arity: number, fill: unknown[]): unknown[][] {
  const lists: unknown[][] = []
  for (let pos = 0; pos < Math.max(arity, 1) + 1; pos++) {
    for (const bad of BAD) {
      const args = fill.slice(0, Math.max(arity, pos + 1))
      args[pos] = bad
      lists.push(args)
    }
  }
  return lists
}

/** Plausible first arguments, so the later positions get checked too. */
const FILL: unknown[] = [[Buffer.alloc(0)], MISSING, {}]

function label(name: string, args: unknown[]): string {
  return `${name}(${args.map((a) => (typeof a === 'symbol' ? 'Symbol' : typeof a === 'bigint' ? `${a}n` : Buffer.isBuffer(a) ? 'Buffer' : JSON.stringify(a) ?? String(a))).join(', ')})`
}

test('every export, called with wrong arguments, throws or rejects only with registry-coded BtrfsErrors', async () => {
  const failures: Failure[] = []
  const errors: unknown[] = []
  const walked: string[] = []
  const entries = Object.entries(api).flatMap(([name, value]): [string, unknown][] =>
    name === 'subvolume' ? Object.entries(value as object).map(([k, v]) => [`subvolume.${k}`, v]) : [[name, value]],
  )
  for (const [name, value] of entries) {
    if (DATA.has(name)) continue
    expect(typeof value).toBe('function')
    walked.push(name)
    const fn = value as (...args: unknown[]) => unknown
    if (isClass(fn)) {
      for (const args of argumentLists(fn.length, FILL)) await attempt(`new ${label(name, args)}`, () => new fn(...args), failures, errors)
      // Methods of an instance built without arguments (when that is allowed).
      let instance: Record<string, unknown> | undefined
      try {
        instance = new fn() as Record<string, unknown>
      } catch {
        instance = undefined
      }
      if (instance === undefined || instance instanceof Error || instance instanceof Readable) continue
      const proto = Object.getPrototypeOf(instance) as object
      for (const method of Object.getOwnPropertyNames(proto)) {
        if (method === 'constructor' || typeof instance[method] !== 'function') continue
        const m = instance[method] as (...args: unknown[]) => unknown
        for (const args of argumentLists(m.length, FILL)) {
          const fresh = new fn() as Record<string, unknown>
          await attempt(`${name}#${label(method, args)}`, () => (fresh[method] as typeof m).apply(fresh, args), failures, errors)
        }
      }
      continue
    }
    for (const args of argumentLists(fn.length, FILL)) await attempt(label(name, args), () => fn(...args), failures, errors)
  }
  expect(walked.length).toBeGreaterThan(30)
  // The walk must reach real failures, not pass vacuously.
  expect(errors.length).toBeGreaterThan(500)
  if (process.env.CONTRACT_REPORT) {
    const groups = new Map<string, number>()
    for (const f of failures) {
      const key = `${f.call.replace(/\(.*$/, '')}: ${(f.error as Error)?.name} ${String((f.error as Error)?.message).slice(0, 100)}`
      groups.set(key, (groups.get(key) ?? 0) + 1)
    }
    require('node:fs').writeFileSync(process.env.CONTRACT_REPORT, [...groups].map(([k, n]) => `${n} ${k}`).join('\n'))
  }
  expect(failures.map((f) => `${f.call}: ${(f.error as Error)?.name} ${String((f.error as Error)?.message).slice(0, 120)}`)).toEqual([])
}, 600_000)

test('BtrfsError refuses a code outside the registry, at runtime too', () => {
  expect(() => new BtrfsError('ENOTACODE' as never, 'x')).toThrow(expect.objectContaining({ code: 'BTRFS_INVALID_ARGUMENT' }))
  expect(new BtrfsError('BTRFS_STREAM_EMPTY', 'x').code).toBe('BTRFS_STREAM_EMPTY')
  expect(new BtrfsError('ABORT_ERR', 'x').code).toBe('ABORT_ERR')
})

test('errno names and numbers are os.constants.errno, both ways', () => {
  for (const [name, number] of Object.entries(constants.errno)) {
    const err = new BtrfsSystemError({ errno: number, syscall: 'x' })
    expect(err.errno).toBe(-number)
    // Aliases (EWOULDBLOCK, EOPNOTSUPP) share a number; the first name of os.constants wins.
    expect(constants.errno[err.code as keyof typeof constants.errno]).toBe(number)
    expect(errnoName(-number)).toBe(err.code)
    expect(isErrorCode(name)).toBe(true)
  }
  expect(new BtrfsSystemError({ errno: 4095, syscall: 'x' }).code).toBe('BTRFS_SYSTEM_ERROR')
})
