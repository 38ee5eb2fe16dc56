// The send progress bar's text (pure): bar, percent, bytes of total, rate and ETA once the
// estimate is known, bytes and rate before; cut to the terminal width.
import { clock, sendProgressLine } from '../../lib/cli/progress.js'
import { toJsonText } from '../../lib/cli/subvolume.js'

const MiB = 1024 * 1024

test('with a total: bar, percent, bytes of total, rate and ETA', () => {
  expect(sendProgressLine({ bytes: 25 * MiB, total: 100 * MiB }, 5000, 200))
    .toBe('[#####...............] 25% 25.0 MiB of 100.0 MiB at 5.0 MiB/s, ETA 0:15')
})

test('before the estimate is known: bytes and rate only', () => {
  expect(sendProgressLine({ bytes: 3 * MiB }, 2000, 200)).toBe('3.0 MiB at 1.5 MiB/s')
})

test('99% until the bytes reach the total, then 100%; the ETA never goes negative', () => {
  const line = sendProgressLine({ bytes: 101 * MiB, total: 100 * MiB }, 1000, 200)
  expect(line).toContain('] 100% ')
  expect(sendProgressLine({ bytes: 100 * MiB - 1, total: 100 * MiB }, 1000, 200)).toContain('] 99% ')
  expect(line).toContain('ETA 0:00')
})

test('cut to the terminal width', () => {
  expect(sendProgressLine({ bytes: 1, total: 2 }, 1, 20).length).toBeLessThanOrEqual(20)
})

test('clock: M:SS, then H:MM:SS', () => {
  expect([clock(0), clock(59.6), clock(61), clock(3600 + 62)]).toEqual(['0:00', '1:00', '1:01', '1:01:02'])
})

test('subvolume --json: bigints as strings, dates as ISO text', () => {
  expect(JSON.parse(toJsonText({ id: 2n ** 64n - 1n, at: new Date(0), none: null }))).toEqual({ id: '18446744073709551615', at: '1970-01-01T00:00:00.000Z', none: null })
})
