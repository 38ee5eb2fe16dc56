// Lexical checks on stream paths (raw bytes), the first of the receiver's two confinement layers
// (the second is openat2 beneath the subvolume root, see confined-tree.ts). A path is relative,
// '/'-separated, with no empty, '.' or '..' component and no NUL; '' is the subvolume root and is
// allowed only where the command may act on the root. Pure functions, no I/O.
import { BtrfsError } from '../../errors.js'

const SLASH = 0x2f
const DOT = 0x2e
/** PATH_MAX including its NUL: the kernel never sends longer paths. */
export const MAX_PATH_BYTES = 4095
/** NAME_MAX. */
export const MAX_NAME_BYTES = 255

/** Why `path` is unacceptable, or undefined when it is fine. */
export function pathProblem(path: Uint8Array, allowRoot: boolean): string | undefined {
  const n = path.length
  if (n === 0) return allowRoot ? undefined : 'the subvolume root cannot be the target of this command'
  if (n > MAX_PATH_BYTES) return `longer than ${MAX_PATH_BYTES} bytes`
  if (path[0] === SLASH) return 'absolute path'
  let start = 0
  for (let i = 0; i <= n; i++) {
    const c = i < n ? path[i] : SLASH
    if (c === 0) return 'contains a NUL byte'
    if (c !== SLASH) continue
    const len = i - start
    if (len === 0) return 'empty path component'
    if (len > MAX_NAME_BYTES) return `a component is longer than ${MAX_NAME_BYTES} bytes`
    if (path[start] === DOT && (len === 1 || (len === 2 && path[start + 1] === DOT))) return `'${len === 1 ? '.' : '..'}' component`
    start = i + 1
  }
  return undefined
}

/** A byte path as text for messages: lossless for ASCII, escapes the rest as btrfs-progs does (\ooo). */
export function displayPath(path: Uint8Array): string {
  let s = ''
  for (const c of path) s += c >= 0x20 && c < 0x7f && c !== 0x5c ? String.fromCharCode(c) : c === 0x5c ? '\\\\' : `\\${c.toString(8).padStart(3, '0')}`
  return s
}

/** Throws BTRFS_RECEIVE_PATH_REJECTED unless `path` is acceptable. */
export function checkPath(path: Uint8Array, allowRoot: boolean, what = 'path'): void {
  const problem = pathProblem(path, allowRoot)
  if (problem !== undefined) {
    throw new BtrfsError('BTRFS_RECEIVE_PATH_REJECTED', `stream ${what} '${displayPath(path)}' rejected: ${problem}`, {
      path: displayPath(path),
    })
  }
}

/** A subvolume name from SUBVOL/SNAPSHOT: one component, as the kernel's create ioctls demand. */
export function checkSubvolumeName(name: Uint8Array): void {
  checkPath(name, false, 'subvolume name')
  if (name.includes(SLASH)) {
    throw new BtrfsError('BTRFS_RECEIVE_PATH_REJECTED', `stream subvolume name '${displayPath(name)}' rejected: contains '/'`, {
      path: displayPath(name),
    })
  }
}
