// The part-size schedule meets S3's limits for every stream length up to 5 TiB and every
// allowed first part size: at most 10,000 parts, all but the last at least 5 MiB, none above
// 5 GiB, sizes never shrinking.
import fc from 'fast-check'
import { capacity, layout, MAX_OBJECT_SIZE, MAX_PARTS, MAX_PART_SIZE, MIN_PART_SIZE, partSizeAt, DEFAULT_PART_SIZE } from '../../lib/s3/part-size.js'

const MiB = 1024 * 1024
const starts = [MIN_PART_SIZE, MIN_PART_SIZE + 1, DEFAULT_PART_SIZE, 64 * MiB, 1000 * MiB, MAX_PART_SIZE - 1, MAX_PART_SIZE]

test.each(starts)('from a first part of %d bytes, 10,000 parts hold 5 TiB, each within 5 MiB..5 GiB, never shrinking', (first) => {
  expect(capacity(first, MAX_PARTS)).toBeGreaterThanOrEqual(MAX_OBJECT_SIZE)
  const bad: number[] = []
  let previous = 0
  for (let i = 0; i < MAX_PARTS; i++) {
    const size = partSizeAt(i, first)
    if (size < MIN_PART_SIZE || size > MAX_PART_SIZE || size < previous) bad.push(i)
    previous = size
  }
  expect(bad).toEqual([])
})

test('the minimum start is the tight case: with 1,000 parts per doubling it would not reach 5 TiB', () => {
  // Guards the reason the step is shorter than 1,000: 1023 * 1000 * 5 MiB < 5 TiB.
  expect(1023 * 1000 * MIN_PART_SIZE).toBeLessThan(MAX_OBJECT_SIZE)
  expect(capacity(MIN_PART_SIZE)).toBeGreaterThanOrEqual(MAX_OBJECT_SIZE)
})

test('every length up to 5 TiB is cut into valid parts (property, any start)', () => {
  fc.assert(fc.property(
    fc.integer({ min: 0, max: MAX_OBJECT_SIZE }),
    fc.integer({ min: MIN_PART_SIZE, max: MAX_PART_SIZE }),
    (length, first) => {
      const parts = layout(length, first)
      const invalid = parts.filter((p, i) => p > MAX_PART_SIZE || p <= 0 || (i < parts.length - 1 && p < MIN_PART_SIZE))
      return parts.reduce((a, b) => a + b, 0) === length && parts.length <= MAX_PARTS && invalid.length === 0
    },
  ), { numRuns: 300 })
})

test('exactly 5 TiB from the minimum start, and the lengths at each doubling boundary', () => {
  for (const first of starts) {
    for (const length of [MAX_OBJECT_SIZE, capacity(first, 900), capacity(first, 900) + 1, capacity(first, 9000) + 1]) {
      expect(layout(length, first).length).toBeLessThanOrEqual(MAX_PARTS)
    }
  }
})
