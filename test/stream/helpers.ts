// Shared test helpers for stream tests: the golden fixtures, an independent framing walker (so
// expectations do not come from the decoder under test), chunkers and a canonical form of
// commands for deep comparison.
import fs from 'node:fs'
import path from 'node:path'
import type { Command } from '../../lib/stream/commands.js'
import { StreamDecoder, type DecoderOptions } from '../../lib/stream/decoder.js'

export const FIXTURE_DIR = path.join(__dirname, '..', 'fixtures', 'streams')

export interface Fixture {
  name: string
  bytes: Buffer
}

export const FIXTURES: Fixture[] = fs
  .readdirSync(FIXTURE_DIR)
  .filter((f) => f.endsWith('.bin'))
  .sort()
  .map((name) => ({ name, bytes: fs.readFileSync(path.join(FIXTURE_DIR, name)) }))

export function fixture(name: string): Buffer {
  const f = FIXTURES.find((x) => x.name === name)
  if (!f) throw new Error(`no fixture ${name}`)
  return f.bytes
}

export interface Unit {
  kind: 'header' | 'command'
  start: number
  end: number
  cmd?: number
}

/** Splits a well-formed input into stream headers and commands by reading the framing directly. */
export function units(bytes: Buffer): Unit[] {
  const out: Unit[] = []
  let pos = 0
  let expectHeader = true
  while (pos < bytes.length) {
    if (expectHeader) {
      out.push({ kind: 'header', start: pos, end: pos + 17 })
      pos += 17
      expectHeader = false
      continue
    }
    const len = bytes.readUInt32LE(pos)
    const cmd = bytes.readUInt16LE(pos + 4)
    out.push({ kind: 'command', start: pos, end: pos + 10 + len, cmd })
    pos += 10 + len
    if (cmd === 21) expectHeader = true
  }
  return out
}

/** A JSON string of the commands with Buffers as hex and bigints as strings. */
export function canonical(cmds: readonly Command[]): string {
  return JSON.stringify(cmds, (_key, value: unknown) => {
    if (typeof value === 'bigint') return `${value}n`
    if (value && typeof value === 'object' && (value as { type?: string }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data)) {
      return Buffer.from((value as { data: number[] }).data).toString('hex')
    }
    return value
  })
}

/** Pushes `bytes` in the given chunk sizes (cycled) and ends the decoder. */
export function decodeChunked(bytes: Uint8Array, sizes: readonly number[], options?: DecoderOptions): Command[] {
  const decoder = new StreamDecoder(options)
  const out: Command[] = []
  let i = 0
  let k = 0
  while (i < bytes.length) {
    const n = Math.max(1, sizes[k++ % sizes.length])
    for (const c of decoder.push(bytes.subarray(i, i + n))) out.push(c)
    i += n
  }
  decoder.end()
  return out
}

/** Deterministic PRNG (mulberry32) so failures reproduce; the decoder fuzzer's own. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const rng = (require('../../scripts/fuzz/decoder-cases.js') as { rng: (seed: number) => () => number }).rng

/** Runs fn and returns the error it throws (fails the test if it does not throw). */
export function thrown(fn: () => unknown): Error & { code?: string; offset?: number; commandIndex?: number; commandType?: number; attribute?: number } {
  try {
    fn()
  } catch (err) {
    return err as Error
  }
  throw new Error('expected an error, none was thrown')
}
