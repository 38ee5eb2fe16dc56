// Jest side of the loopback harness: describeBtrfs() runs a suite on a fresh loop-mounted btrfs,
// torn down in afterAll (and by scripts/loop-btrfs.js on exit or signals). Where the machine
// cannot run it, the suite is skipped with the reason, except under CI=true or
// BTRFS_INTEGRATION=1, where that becomes a failing test: CI never skips silently.
import { execFileSync } from 'node:child_process'
import {
  createLoopBtrfs,
  destroyLoopBtrfs,
  unavailableReason,
  type LoopBtrfs,
  type LoopBtrfsOptions,
} from '../../scripts/loop-btrfs.js'

export type { LoopBtrfs }

const strict = process.env.CI === 'true' || process.env.BTRFS_INTEGRATION === '1'

/** Declares a suite that gets `fs()`, a mounted loopback btrfs shared by its tests. */
export function describeBtrfs(name: string, options: LoopBtrfsOptions, body: (fs: () => LoopBtrfs) => void): void {
  const reason = unavailableReason()
  if (reason) {
    if (strict) {
      describe(name, () => {
        test('loopback btrfs is available', () => {
          throw new Error(`integration suite cannot run: ${reason}`)
        })
      })
    } else {
      describe.skip(`${name} (skipped: ${reason})`, () => body(() => undefined as never))
    }
    return
  }
  describe(name, () => {
    let current: LoopBtrfs | undefined
    beforeAll(() => {
      current = createLoopBtrfs(options)
    })
    afterAll(() => {
      destroyLoopBtrfs(current)
      current = undefined
    })
    body(() => {
      if (!current) throw new Error('loopback btrfs not mounted')
      return current
    })
  })
}

/** Runs a command, returning stdout; throws with stderr on failure. */
export function sh(cmd: string, args: string[], options: { input?: string | Buffer; cwd?: string } = {}): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], ...options })
}

/** Runs a command, returning stdout as bytes. */
export function shBytes(cmd: string, args: string[]): Buffer {
  return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30 })
}
