// Protocol negotiation: a request above what the kernel's sysfs offers fails before the ioctl
// with BTRFS_SEND_PROTOCOL_UNSUPPORTED. The sysfs reading is replaced here by a v1-only kernel;
// the real value is checked against /sys in the same file.
import { readFileSync } from 'node:fs'
import { send } from '../../lib/index.js'

jest.mock('../../lib/send/protocol', () => ({ kernelSendProtocol: () => 1 }))

function streamError(stream: ReturnType<typeof send>): Promise<Error & { code?: string }> {
  return new Promise((resolve) => stream.on('error', resolve).resume())
}

test('protocol 2 on a kernel that only sends v1', async () => {
  const err = await streamError(send('/nonexistent', { protocol: 2 }))
  expect(err.code).toBe('BTRFS_SEND_PROTOCOL_UNSUPPORTED')
  expect(err.message).toMatch(/protocol 1 at most, 2 was requested/)
})

test('compressed (implying v2) on a kernel that only sends v1', async () => {
  const err = await streamError(send('/nonexistent', { compressed: true }))
  expect(err.code).toBe('BTRFS_SEND_PROTOCOL_UNSUPPORTED')
})

test("the real kernelSendProtocol reads sysfs send_stream_version", () => {
  const { kernelSendProtocol } = jest.requireActual('../../lib/send/protocol')
  let expected = 1
  try {
    expected = Number(readFileSync('/sys/fs/btrfs/features/send_stream_version', 'utf8').trim())
  } catch {}
  expect(kernelSendProtocol()).toBe(expected)
})
