// The receiver's view of the addon: the synchronous fsops and data ioctls plus the flag values
// from the build machine's headers, loaded once. Only worker-side modules import this; errors
// thrown here are the addon's plain errno errors (session.ts wraps them with the command).
//
// BTRFS_STREAM_NO_SYSCALLS (a comma-separated list of addon function names, e.g.
// `fchmodat2,setxattrat,removexattrat`) makes those functions fail with ENOSYS, as they do on
// kernels that predate them (fchmodat2: 6.6, setxattrat/removexattrat: 6.13). It exists so the
// older kernels' paths are tested on a new kernel; nothing else changes.
import { constants } from 'node:os'
import { native } from '../../native.js'

function withMissing(addon: BtrfsNative.Addon, names: string[]): BtrfsNative.Addon {
  const replaced: Record<string, () => never> = {}
  for (const name of names) {
    if (typeof (addon as unknown as Record<string, unknown>)[name] !== 'function') continue
    replaced[name] = () => {
      throw Object.assign(new Error(`${name}: Function not implemented (BTRFS_STREAM_NO_SYSCALLS)`), {
        errno: -constants.errno.ENOSYS,
        syscall: name,
      })
    }
  }
  return { ...addon, ...replaced }
}

const missing = (process.env.BTRFS_STREAM_NO_SYSCALLS ?? '').split(',').filter((s) => s !== '')
/** The names BTRFS_STREAM_NO_SYSCALLS knocks out (the syscall queue consults it too). */
export const missingSyscalls: ReadonlySet<string> = new Set(missing)

export const sys: BtrfsNative.Addon = missing.length === 0 ? native() : withMissing(native(), missing)
export const C = sys.fsopsConstants

/** openat2 resolution that can never leave the directory fd or follow any link. */
export const RESOLVE_CONFINED = C.RESOLVE_BENEATH | C.RESOLVE_NO_SYMLINKS | C.RESOLVE_NO_MAGICLINKS
