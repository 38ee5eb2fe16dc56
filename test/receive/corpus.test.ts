// The scenario corpus (support/scenarios.ts), each received as a full stream and then as every
// incremental of its chain, once as protocol v1 and once as v2 with compressed data from a
// compress=zstd source. Pass = our received tree equals the source snapshot and btrfs receive's
// result by tree digest, both are read-only, and the received uuids are the same.
import path from 'node:path'
import type { SendOptions } from '../../lib/index.js'
import { describeBtrfs } from '../support/btrfs.js'
import { buildChain, expectChainReceived, extraFilesystems } from './support/harness.js'
import { SCENARIOS } from './support/scenarios.js'

describeBtrfs('receive: scenario corpus', { size: '2G', mountOptions: ['compress=zstd'] }, (fs) => {
  const chains: string[][] = []
  beforeAll(() => {
    SCENARIOS.forEach((scenario, i) => chains.push(buildChain(scenario, path.join(fs().mnt, `s${i}`))))
  })

  const variants: Array<[string, SendOptions]> = [
    ['protocol 1', {}],
    ['protocol 2, compressed', { protocol: 2, compressed: true }],
  ]
  describe.each(variants)('%s', (_variant, sendOptions) => {
    // One filesystem per receiver, so the two copies never share a UUID tree.
    const receivers = extraFilesystems(2, { size: '1G' })

    test.each(SCENARIOS.map((s, i) => [s.name, i] as const))('%s', async (_name, i) => {
      const [ours, theirs] = receivers().map((f) => f.mnt)
      await expectChainReceived(chains[i], sendOptions, ours, theirs, fs().dir)
    })
  })
})
