// The paths receive takes on kernels older than this one: without fchmodat2 (before 6.6) and
// without setxattrat/removexattrat (before 6.13), simulated with BTRFS_STREAM_NO_SYSCALLS (see
// lib/receive/sys.ts), over the corpus scenarios that chmod, set and remove xattrs (on files,
// directories and symlinks). Pass = the same trees as the source and as btrfs receive.
import path from 'node:path'
import { describeBtrfs } from '../support/btrfs.js'
import { buildChain, expectChainReceived, extraFilesystems } from './support/harness.js'
import { SCENARIOS } from './support/scenarios.js'

const MISSING = 'fchmodat2,setxattrat,removexattrat'
const PICKED = [
  'setuid, setgid and sticky bits',
  'large xattrs and xattr changes',
  'security.capability survives chown (stream order)',
  'POSIX ACLs (access and default)',
  'xattrs on symlinks and directories',
  'modes and times only',
]

test('BTRFS_STREAM_NO_SYSCALLS turns the named addon functions into ENOSYS', () => {
  const saved = process.env.BTRFS_STREAM_NO_SYSCALLS
  process.env.BTRFS_STREAM_NO_SYSCALLS = MISSING
  try {
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { sys } = require('../../lib/receive/fs/sys.js') as typeof import('../../lib/receive/fs/sys.js')
      for (const name of MISSING.split(',')) {
        const call = (sys as unknown as Record<string, () => void>)[name]
        expect(call).toThrow(expect.objectContaining({ errno: -38, syscall: name }))
      }
      expect(typeof sys.fchownat).toBe('function')
    })
  } finally {
    if (saved === undefined) delete process.env.BTRFS_STREAM_NO_SYSCALLS
    else process.env.BTRFS_STREAM_NO_SYSCALLS = saved
  }
})

describeBtrfs('receive on an older kernel (no fchmodat2, no setxattrat)', { size: '1G' }, (fs) => {
  const receivers = extraFilesystems(2, { size: '1G' })
  const chains = new Map<string, string[]>()
  let saved: string | undefined
  beforeAll(() => {
    for (const name of PICKED) {
      const i = SCENARIOS.findIndex((s) => s.name === name)
      if (i < 0) throw new Error(`no scenario named '${name}'`)
      chains.set(name, buildChain(SCENARIOS[i], path.join(fs().mnt, `s${i}`)))
    }
    // The receive worker takes a copy of the environment when it starts.
    saved = process.env.BTRFS_STREAM_NO_SYSCALLS
    process.env.BTRFS_STREAM_NO_SYSCALLS = MISSING
  })
  afterAll(() => {
    if (saved === undefined) delete process.env.BTRFS_STREAM_NO_SYSCALLS
    else process.env.BTRFS_STREAM_NO_SYSCALLS = saved
  })

  test.each(PICKED)('%s', async (name) => {
    const [ours, theirs] = receivers().map((f) => f.mnt)
    await expectChainReceived(chains.get(name) as string[], {}, ours, theirs, fs().dir)
  })
})
