// A bounded slice (a few seconds) of the volume decoder fuzzing of scripts/fuzz/decoder.js: the
// same generated and mutated inputs, through StreamDecoder and dump's formatting, from the
// TypeScript sources. Any error that is not a registry-coded BtrfsError fails the test.
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import * as errors from '../../lib/errors'
import * as decoder from '../../lib/stream/decoder'
import * as encoder from '../../lib/stream/encoder'
import * as crc from '../../lib/stream/crc32c'
import * as format from '../../lib/dump/format'
import * as dumpModule from '../../lib/dump/dump'

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { makeInput, runOne } = require('../../scripts/fuzz/decoder-cases.js') as {
  makeInput: (seed: number, i: number, bases: Buffer[], lib: object) => Buffer
  runOne: (input: Buffer, i: number, lib: object) => string | undefined
}

const lib = { ...errors, ...decoder, ...encoder, ...crc, ...format, ...dumpModule }
const dir = path.join(__dirname, '../fixtures/streams')
const bases = readdirSync(dir).filter((f) => f.endsWith('.bin')).map((f) => readFileSync(path.join(dir, f)).subarray(0, 2048))

test('generated and mutated inputs for 3 s: no crash, no non-coded error', () => {
  const seed = Date.now() % 100000
  const deadline = Date.now() + 3000
  let i = 0
  let rejected = 0
  for (; Date.now() < deadline; i++) {
    const input = makeInput(seed, i, bases, lib)
    const breach = runOne(input, i, lib)
    if (breach) throw new Error(`input ${i} of seed ${seed} (node scripts/fuzz/decoder.js ${i + 1} ${seed}): ${breach}`)
    try {
      decoder.decodeAll(input)
    } catch {
      rejected++
    }
  }
  expect(i).toBeGreaterThan(1000)
  // Mutations must reach both outcomes, or the slice checks nothing.
  expect(rejected).toBeGreaterThan(0)
  expect(rejected).toBeLessThan(i)
})
