// Reads a file as chunks for parse(): a small ring of buffers reused in turn, with several
// positioned reads in flight on the libuv pool while the consumer works (one read at a time
// copies page cache at one core's speed; parallel reads nearly halved the time of a 1 GiB
// stream here). A buffer is reused only once the consumer has pulled past every command of its
// chunk, which is exactly parse()'s "valid until the next command is pulled" rule. Not for push
// consumers (a Transform queues commands), hence internal: parse(path) and dump(path) use it.
// The callback fs API is used on purpose: `fs/promises` is not in Node's startup snapshot
// (loading it cost ~8 ms per process here) and its FileHandle.read costs more per call; on a
// 1 GiB stream the callback ring read ~20% faster.
import * as fs from 'node:fs'
import { fromNodeSystemError } from '../errors.js'

/** 1 MiB chunks, 4 buffers, 3 reads in flight: the best of the combinations measured here. */
export const FILE_CHUNK_SIZE = 1 << 20
const RING = 4

function openFile(path: string): Promise<number> {
  return new Promise((resolve, reject) => fs.open(path, 'r', (err, fd) => (err ? reject(fromNodeSystemError(err)) : resolve(fd))))
}

function isRegularFile(fd: number): Promise<boolean> {
  return new Promise((resolve, reject) => fs.fstat(fd, (err, st) => (err ? reject(fromNodeSystemError(err)) : resolve(st.isFile()))))
}

function readInto(fd: number, buffer: Buffer, length: number, position: number | null): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    fs.read(fd, buffer, 0, length, position, (err, bytesRead) => (err ? reject(fromNodeSystemError(err)) : resolve(buffer.subarray(0, bytesRead)))),
  )
}

export async function* readFileChunks(path: string, chunkSize = FILE_CHUNK_SIZE): AsyncGenerator<Uint8Array, void, undefined> {
  const fd = await openFile(path)
  const inFlight: Promise<Buffer>[] = []
  try {
    // Pipes and devices cannot be read at positions: one sequential read at a time there.
    const seekable = await isRegularFile(fd)
    const depth = seekable ? RING - 1 : 1
    const buffers = Array.from({ length: depth + 1 }, () => Buffer.allocUnsafeSlow(chunkSize))
    let position = 0
    let issued = 0
    const issue = (): void => {
      const read = readInto(fd, buffers[issued++ % buffers.length], chunkSize, seekable ? position : null)
      // A rejection is observed when its turn comes (or by the allSettled below), never unhandled.
      read.catch(() => {})
      inFlight.push(read)
      position += chunkSize
    }
    for (let i = 0; i < depth; i++) issue()
    for (;;) {
      const chunk = await (inFlight.shift() as Promise<Buffer>)
      if (chunk.length === 0) return
      yield chunk
      // The consumer has moved past `chunk`: its buffer may take the next read.
      issue()
    }
  } finally {
    await Promise.allSettled(inFlight)
    await new Promise<void>((resolve) => fs.close(fd, () => resolve()))
  }
}
