// LZO1X decompression (the "safe" variant: every read and write is bounds-checked), written from
// the format description in the kernel's Documentation/staging/lzo.rst. btrfs compresses each
// sector with lzo1x_1_compress (bitstream version 0); the RLE extension of lzo-rle is refused.
// Used only for the ENCODED_WRITE fallback; see btrfs-lzo.ts for btrfs's framing around it.

export class LzoError extends Error {}

const M2_MAX_OFFSET = 0x0800

/** Decompresses `input[start, end)` into `out` from `outPos`; returns the new output position. */
export function lzo1xDecompress(input: Uint8Array, start: number, end: number, out: Uint8Array, outPos: number): number {
  let ip = start
  let op = outPos
  const outEnd = out.length
  const need = (n: number) => {
    if (ip + n > end) throw new LzoError('lzo: input overrun')
  }
  const needOut = (n: number) => {
    if (op + n > outEnd) throw new LzoError('lzo: output overrun')
  }
  const literals = (n: number) => {
    need(n)
    needOut(n)
    out.set(input.subarray(ip, ip + n), op)
    ip += n
    op += n
  }
  // Counts a run of zero bytes used to extend a length: each zero adds 255.
  const extension = (base: number): number => {
    let zeros = 0
    need(1)
    while (input[ip] === 0) {
      zeros++
      ip++
      need(1)
    }
    return zeros * 255 + base + input[ip++]
  }

  let state = 0
  let t: number
  need(1)
  if (end - start >= 5 && input[ip] === 17 && input[ip + 1] !== 0) throw new LzoError('lzo: lzo-rle bitstream not supported')
  if (input[ip] > 17) {
    t = input[ip++] - 17
    if (t < 4) {
      literals(t)
      state = t
    } else {
      literals(t)
      state = 4
    }
  }
  for (;;) {
    need(1)
    t = input[ip++]
    let mPos: number
    let next: number
    let len: number
    if (t < 16) {
      if (state === 0) {
        if (t === 0) t = extension(15)
        literals(t + 3)
        state = 4
        continue
      }
      need(1)
      if (state !== 4) {
        next = t & 3
        mPos = op - 1 - (t >> 2) - (input[ip++] << 2)
        len = 2
      } else {
        next = t & 3
        mPos = op - (1 + M2_MAX_OFFSET) - (t >> 2) - (input[ip++] << 2)
        len = 3
      }
    } else if (t >= 64) {
      need(1)
      next = t & 3
      mPos = op - 1 - ((t >> 2) & 7) - (input[ip++] << 3)
      len = (t >> 5) - 1 + 2
    } else if (t >= 32) {
      len = (t & 31) + 2
      if (len === 2) len = extension(31) + 2
      need(2)
      const v = input[ip] | (input[ip + 1] << 8)
      ip += 2
      mPos = op - 1 - (v >> 2)
      next = v & 3
    } else {
      mPos = op - ((t & 8) << 11)
      len = (t & 7) + 2
      if (len === 2) len = extension(7) + 2
      need(2)
      const v = input[ip] | (input[ip + 1] << 8)
      ip += 2
      mPos -= v >> 2
      next = v & 3
      if (mPos === op) {
        if (len !== 3) throw new LzoError('lzo: bad end marker')
        if (ip !== end) throw new LzoError('lzo: input not consumed')
        return op
      }
      mPos -= 0x4000
    }
    if (mPos < outPos) throw new LzoError('lzo: match before output start')
    needOut(len)
    // Byte by byte: matches may overlap their own output.
    for (let i = 0; i < len; i++) out[op + i] = out[mPos + i]
    op += len
    state = next
    if (next > 0) literals(next)
  }
}
