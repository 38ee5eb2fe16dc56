// Without the addon (no prebuild for the platform, no compiler), the package still loads:
// parse, dump and the encoder are pure TypeScript, and what needs the kernel fails with
// BTRFS_ADDON_UNAVAILABLE when it is used, not at import.
import { execFileSync } from 'node:child_process'
import path from 'node:path'

const dist = path.resolve(__dirname, '../../dist/index.js')

test('the package loads and parses with no addon; the addon is asked for only when used', () => {
  const script = `
    const m = require(${JSON.stringify(dist)})
    const enc = new m.StreamEncoder({ version: 2 })
    const bytes = enc.stream([{ type: 'subvol', path: Buffer.from('v'), uuid: Buffer.alloc(16, 1), ctransid: 7n }, { type: 'mkdir', path: Buffer.from('d'), ino: 257n }, { type: 'end' }])
    ;(async () => {
      const types = []
      for await (const c of m.parse([bytes])) types.push(c.type)
      const lines = []
      for await (const l of m.dump([bytes])) lines.push(l)
      let addon
      try { m.nativePath() } catch (e) { addon = e.code }
      console.log(JSON.stringify({ types, lines: lines.length, addon }))
    })()`
  const out = execFileSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    env: { ...process.env, BTRFS_STREAM_NATIVE: '/nonexistent/btrfs_stream.node' },
  })
  expect(JSON.parse(out)).toEqual({ types: ['subvol', 'mkdir', 'end'], lines: 2, addon: 'BTRFS_ADDON_UNAVAILABLE' })
})
