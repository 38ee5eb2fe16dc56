// Hand-built OpQueue records for the addon's own tests (the real encoder is the receiver's
// queued-ops.ts): the 80-byte little-endian header the native side reads, no names.
export const NO_NAME = 0xffffffff
export const PWRITEV = 15

/** One pwritev record: data[dataIndex] written to fd at offset. */
export function pwriteRecord(tag: number, fd: number, dataIndex: number, offset: number): Buffer {
  const r = Buffer.alloc(80)
  r.writeUInt32LE(PWRITEV, 0)
  r.writeUInt32LE(tag, 4)
  r.writeInt32LE(fd, 8)
  r.writeUInt32LE(NO_NAME, 28)
  r.writeUInt32LE(NO_NAME, 32)
  r.writeUInt32LE(dataIndex, 36)
  r.writeUInt32LE(1, 40)
  r.writeBigInt64LE(BigInt(offset), 48)
  return r
}
