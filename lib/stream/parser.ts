// The two streaming faces of StreamDecoder: parse(), an async iterator pulled by the consumer
// (so at most one input chunk is held while commands are consumed), and createParser(), an
// object-mode Transform for pipeline() users. Neither holds any format logic.
import { Transform, type TransformCallback } from 'node:stream'
import type { Readable } from 'node:stream'
import type { Command } from './commands.js'
import { StreamDecoder, type DecoderOptions } from './decoder.js'
import { readFileChunks } from './file-source.js'
import { CommandIterator } from './command-iterator.js'
import { checkByteSource } from '../check.js'
import './crc32c-native.js'

export type ParseOptions = DecoderOptions
export type { CommandIterator }

/** Anything that yields byte chunks: a Readable (not in object mode), or any async iterable. */
export type ByteSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array> | Readable

/**
 * Decodes one or more concatenated send streams into commands. `source` is a byte source or a
 * file path (read with a ring of four reused 1 MiB buffers: fast, and memory stays flat). Byte fields of a
 * yielded command are valid until the next command is pulled unless `copy: true`. Throws
 * StreamFormatError (format) or the source's own errors (I/O); invalid options throw at once.
 */
export function parse(source: ByteSource | string, options: ParseOptions = {}): CommandIterator {
  checkByteSource(source, 'source', true)
  const decoder = new StreamDecoder(options)
  return new CommandIterator(decoder, typeof source === 'string' ? readFileChunks(source) : (source as AsyncIterable<Uint8Array>))
}

/**
 * A Transform from bytes to commands (readable side in object mode). Node's Transform holds the
 * write callback while its readable buffer is full, so a slow consumer stalls the producer.
 */
export function createParser(options: ParseOptions = {}): Transform {
  const decoder = new StreamDecoder(options)
  return new Transform({
    readableObjectMode: true,
    readableHighWaterMark: 16,
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      let commands: Command[]
      try {
        commands = decoder.push(chunk)
      } catch (err) {
        callback(err as Error)
        return
      }
      for (const cmd of commands) this.push(cmd)
      callback()
    },
    flush(callback: TransformCallback) {
      try {
        decoder.end()
      } catch (err) {
        callback(err as Error)
        return
      }
      callback()
    },
  })
}
