// The part-size schedule for a multipart upload of a stream whose length is unknown up front.
// S3's limits: at most 10,000 parts, every part but the last at least 5 MiB, none above 5 GiB,
// an object at most 5 TiB. A fixed part size must choose between small parts (memory, short
// streams) and the size cap (64 MiB parts stop at 640 GiB). Here the size starts at `first`
// and doubles every 900 parts, capped at 5 GiB. From the 5 MiB minimum the first 9,000 parts
// hold 900 * 1023 * 5 MiB (4.4 TiB) and the next 900 another 4.4 TiB, so 10,000 parts always
// reach 5 TiB (1,000 parts per step would not: 4.88 TiB); the unit test checks this for every
// allowed start. Memory stays the current part size times the parts in flight, so a 10 GiB
// stream (default start 8 MiB) holds a few 16 MiB parts at most.

export const MiB = 1024 * 1024
export const GiB = 1024 * MiB
export const MIN_PART_SIZE = 5 * MiB
export const MAX_PART_SIZE = 5 * GiB
export const MAX_PARTS = 10_000
export const MAX_OBJECT_SIZE = 5 * 1024 * GiB
/** Default first part size: above the minimum so that short streams take few requests. */
export const DEFAULT_PART_SIZE = 8 * MiB
/** Parts per doubling of the part size. */
export const PARTS_PER_STEP = 900

/** Size of part `index` (0-based) when the schedule starts at `first` bytes. */
export function partSizeAt(index: number, first = DEFAULT_PART_SIZE): number {
  const step = Math.floor(index / PARTS_PER_STEP)
  return Math.min(MAX_PART_SIZE, first * 2 ** step)
}

/** Bytes that the first `parts` parts of the schedule hold together. */
export function capacity(first = DEFAULT_PART_SIZE, parts = MAX_PARTS): number {
  let total = 0
  for (let step = 0; step * PARTS_PER_STEP < parts; step++) {
    const count = Math.min(PARTS_PER_STEP, parts - step * PARTS_PER_STEP)
    total += count * partSizeAt(step * PARTS_PER_STEP, first)
  }
  return total
}

/** The part sizes a stream of `length` bytes is cut into (the last one holds the rest). */
export function layout(length: number, first = DEFAULT_PART_SIZE): number[] {
  const parts: number[] = []
  let left = length
  for (let i = 0; left > 0; i++) {
    const size = Math.min(left, partSizeAt(i, first))
    parts.push(size)
    left -= size
  }
  return parts
}
