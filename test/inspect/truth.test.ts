// list() and diff() against the real trees: random trees on loopback btrfs, mutated at random,
// sent by btrfs send (full, incremental, incremental --no-data); see support/check.ts. A bounded
// number of runs here; `npm run test:inspect-fuzz` runs many more (INSPECT_RUNS).
import fc from 'fast-check'
import { describeBtrfs } from '../support/btrfs.js'
import { checkCase } from './support/check.js'
import { buildOpArb, opArb } from './support/mutate.js'

const RUNS = Number(process.env.INSPECT_RUNS ?? 30)

describeBtrfs('list and diff against the snapshots they came from', { size: '1G' }, (fs) => {
  test(`random trees and mutations (${RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(buildOpArb, { minLength: 5, maxLength: 40 }), fc.array(opArb, { minLength: 1, maxLength: 25 }), async (build, change) => {
        await checkCase(fs().mnt, build, change)
      }),
      { numRuns: RUNS, endOnFailure: true },
    )
  }, 600_000)
})
