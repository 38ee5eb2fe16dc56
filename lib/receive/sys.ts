// The receiver's view of the addon: the synchronous fsops and data ioctls plus the flag values
// from the build machine's headers, loaded once. Only worker-side modules import this; errors
// thrown here are the addon's plain errno errors (session.ts wraps them with the command).
import { native } from '../native.js'

export const sys: BtrfsNative.Addon = native()
export const C = sys.fsopsConstants

/** openat2 resolution that can never leave the directory fd or follow any link. */
export const RESOLVE_CONFINED = C.RESOLVE_BENEATH | C.RESOLVE_NO_SYMLINKS | C.RESOLVE_NO_MAGICLINKS
