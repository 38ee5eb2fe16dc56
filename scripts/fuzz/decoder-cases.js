// Input generator and checker for decoder fuzzing, shared by scripts/fuzz/decoder.js (volume
// runs against dist/) and the bounded jest slice. Input i is a pure function of (seed, i), so
// any failure is reproduced from its index alone. Kinds: kernel fixtures with bytes flipped,
// inserted, deleted, truncated or spliced (CRCs fixed up half the time so mutations reach the
// TLV parser), and streams built from random raw commands and attributes with the encoder.
'use strict'

/** Small fast PRNG (mulberry32) so a case is reproducible from its seed. */
function rng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Rewrites the CRC of every complete command frame of `b` (a stream starting with its header). */
function fixCrcs(b, crc32cUpdate) {
  let p = 17
  while (p + 10 <= b.length) {
    const len = b.readUInt32LE(p)
    if (len > b.length - p - 10) break
    b.writeUInt32LE(0, p + 6)
    b.writeUInt32LE(crc32cUpdate(0, b, p, p + 10 + len), p + 6)
    p += 10 + len
  }
}

const INTERESTING = [0, 1, 2, 0x7f, 0x80, 0xff, 0xfe, 35, 36, 19, 22, 23, 26, 27]

function mutate(base, r, lib) {
  let b = Buffer.from(base)
  const n = 1 + Math.floor(r() * 6)
  for (let k = 0; k < n; k++) {
    const op = Math.floor(r() * 6)
    const at = Math.floor(r() * b.length)
    if (op === 0) b[at] = Math.floor(r() * 256)
    else if (op === 1) b[at] = INTERESTING[Math.floor(r() * INTERESTING.length)]
    else if (op === 2) b = Buffer.concat([b.subarray(0, at), Buffer.from([Math.floor(r() * 256)]), b.subarray(at)])
    else if (op === 3) b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + Math.floor(r() * 16)))])
    else if (op === 4) b = b.subarray(0, at)
    else {
      // Splice a slice of the input into another place (duplicated or reordered commands).
      const from = Math.floor(r() * b.length)
      const len = Math.floor(r() * 64)
      b = Buffer.concat([b.subarray(0, at), b.subarray(from, from + len), b.subarray(at)])
    }
  }
  if (r() < 0.5) fixCrcs(b, lib.crc32cUpdate)
  return b
}

function generated(r, lib) {
  const version = 1 + Math.floor(r() * 3)
  const enc = new lib.StreamEncoder({ version })
  const parts = [enc.header()]
  const count = Math.floor(r() * 8)
  for (let c = 0; c < count; c++) {
    const cmd = r() < 0.9 ? 1 + Math.floor(r() * 27) : Math.floor(r() * 65536)
    const attrs = []
    const nAttr = Math.floor(r() * 6)
    for (let k = 0; k < nAttr; k++) {
      const type = r() < 0.9 ? 1 + Math.floor(r() * 35) : Math.floor(r() * 65536)
      const size = [0, 1, 4, 8, 12, 16, Math.floor(r() * 40)][Math.floor(r() * 7)]
      const value = Buffer.alloc(size)
      for (let i = 0; i < size; i++) value[i] = r() < 0.5 ? 0 : Math.floor(r() * 256)
      attrs.push({ type, value, noLength: version >= 2 && type === 19 && k === nAttr - 1 })
    }
    parts.push(enc.raw(cmd, attrs))
  }
  if (r() < 0.7) parts.push(enc.encode({ type: 'end' }))
  return Buffer.concat(parts)
}

/** Input number i of a run. */
function makeInput(seed, i, bases, lib) {
  const r = rng((seed * 0x9e3779b1) ^ i)
  if (r() < 0.6) return mutate(bases[Math.floor(r() * bases.length)], r, lib)
  return generated(r, lib)
}

/** An error that breaks the contract: not a BtrfsError, or a code outside the registry. */
function contractBreach(err, lib) {
  if (err instanceof lib.BtrfsError && lib.isErrorCode(err.code)) return undefined
  return err instanceof Error ? `${err.name}: ${err.message}\n${err.stack}` : `non-error thrown: ${String(err)}`
}

/**
 * Decodes `input` (in chunks of random sizes, with allowUnknownCommands as dump uses it) and
 * formats every command as dump text and JSON. Returns a breach description or undefined.
 */
function runOne(input, i, lib) {
  const r = rng(i)
  const decoder = new lib.StreamDecoder({ allowUnknownCommands: r() < 0.7, verifyCrc: r() < 0.8, onWarning: (w) => {
    if (!lib.isWarningCode(w.code)) throw new Error(`unregistered warning code ${w.code}`)
  } })
  const context = lib.createDumpContext({ timeZone: 'UTC' })
  try {
    let p = 0
    while (p < input.length) {
      const size = r() < 0.5 ? input.length : 1 + Math.floor(r() * 300)
      decoder.write(input.subarray(p, p + size))
      p += size
      for (let c = decoder.next(); c !== undefined; c = decoder.next()) {
        lib.formatCommand(c, context)
        lib.toJson(c)
      }
    }
    decoder.end()
  } catch (err) {
    return contractBreach(err, lib)
  }
  return undefined
}

module.exports = { makeInput, runOne, fixCrcs, rng }
