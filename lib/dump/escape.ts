// btrfs-progs' dump escaping (string_print_escape_special, 6.9.1+; paths were already escaped
// this way in 6.2): C escapes for \a \b \e \f \n \r \t \v, backslash before space and backslash,
// \ooo octal for every other byte isprint() rejects in the C locale. Output is pure ASCII.
// C-string inputs (paths, names, link targets) end at their first NUL, as they do in progs.

const ESCAPED: readonly string[] = Array.from({ length: 256 }, (_, c) => {
  switch (c) {
    case 0x07: return '\\a'
    case 0x08: return '\\b'
    case 0x1b: return '\\e'
    case 0x0c: return '\\f'
    case 0x0a: return '\\n'
    case 0x0d: return '\\r'
    case 0x09: return '\\t'
    case 0x0b: return '\\v'
    case 0x20: return '\\ '
    case 0x5c: return '\\\\'
    default:
      return c >= 0x21 && c <= 0x7e ? String.fromCharCode(c) : '\\' + c.toString(8).padStart(3, '0')
  }
})

/** Escapes all of `bytes[start, end)` (for length-delimited values such as xattr data). */
export function escapeBytes(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let s = ''
  for (let i = start; i < end; i++) s += ESCAPED[bytes[i]]
  return s
}

/** The length of `bytes` as a C string: up to its first NUL. */
export function cStringLength(bytes: Uint8Array): number {
  const nul = bytes.indexOf(0)
  return nul < 0 ? bytes.length : nul
}

/** Escapes a C-string value (path, name, link target): stops at the first NUL. */
export function escapeCString(bytes: Uint8Array): string {
  return escapeBytes(bytes, 0, cStringLength(bytes))
}

/**
 * progs path_cat(): both parts as C strings, trailing '/' trimmed from each, joined by one '/'.
 * So the empty root path "" under "./snap" prints as "./snap/".
 */
export function pathCat(p1: Uint8Array, p2: Uint8Array): Buffer {
  let n1 = cStringLength(p1)
  while (n1 > 0 && p1[n1 - 1] === 0x2f) n1--
  let n2 = cStringLength(p2)
  while (n2 > 0 && p2[n2 - 1] === 0x2f) n2--
  const out = Buffer.allocUnsafe(n1 + 1 + n2)
  out.set(p1.subarray(0, n1), 0)
  out[n1] = 0x2f
  out.set(p2.subarray(0, n2), n1 + 1)
  return out
}
