// Compile-time tests of the public API's types, as a consumer imports them ('btrfs-stream').
// Nothing here runs: `npm run typecheck` checks it against lib/ (tsconfig.json maps the package
// name to lib/index.ts), and test/docs/readme.test.ts checks it again against the built
// declarations in dist/. A `@ts-expect-error` fails the compile when its line stops being an error.
import type { Readable, Transform } from 'node:stream'
import { expectTypeOf } from 'expect-type'
import {
  BtrfsError,
  BtrfsSystemError,
  ERROR_CODES,
  ReceiveError,
  SendStream,
  StreamDecoder,
  StreamEncoder,
  StreamFormatError,
  createParser,
  decodePath,
  dump,
  parse,
  receive,
  send,
  sendToFd,
  subvolume,
  type Command,
  type CommandOf,
  type ErrorCode,
  type ReceiveOptions,
  type ReceiveProgress,
  type ReceiveResult,
  type ReceivedSubvolume,
  type SendOptions,
  type SubvolumeInfo,
} from 'btrfs-stream'

declare const readable: Readable

// send: one path or several, a SendStream (a Readable) with a byte count.
expectTypeOf(send).toBeCallableWith('/mnt/snap')
expectTypeOf(send).toBeCallableWith(['/mnt/a', '/mnt/b'], { parent: '/mnt/p', cloneSources: [256n, 257], protocol: 'latest', compressed: true })
expectTypeOf(send('/mnt/snap')).toEqualTypeOf<SendStream>()
expectTypeOf<SendStream>().toExtend<Readable>()
expectTypeOf<SendStream['bytesRead']>().toEqualTypeOf<number>()
expectTypeOf<SendOptions['protocol']>().toEqualTypeOf<1 | 2 | 'latest' | undefined>()
// @ts-expect-error protocol 3 does not exist
send('/mnt/snap', { protocol: 3 })
// @ts-expect-error unknown option names are type errors too
send('/mnt/snap', { paren: '/mnt/p' })
expectTypeOf(sendToFd).returns.toEqualTypeOf<Promise<number>>()
// @ts-expect-error sendToFd has no Readable, so no highWaterMark
sendToFd('/mnt/snap', 1, { highWaterMark: 1 })

// receive: a byte source and a destination; a result listing the subvolumes.
expectTypeOf(receive).toBeCallableWith(readable, '/mnt/backup', { maxErrors: 0, progressInterval: 50, stopAtEnd: true, signal: AbortSignal.timeout(1) })
expectTypeOf(receive).returns.toEqualTypeOf<Promise<ReceiveResult>>()
expectTypeOf<ReceiveResult['subvolumes']>().toEqualTypeOf<ReceivedSubvolume[]>()
expectTypeOf<ReceivedSubvolume['kind']>().toEqualTypeOf<'subvol' | 'snapshot'>()
expectTypeOf<ReceivedSubvolume['stransid']>().toEqualTypeOf<bigint>()
expectTypeOf<NonNullable<ReceiveOptions['onProgress']>>().parameter(0).toEqualTypeOf<ReceiveProgress>()
expectTypeOf<ReceiveProgress['subvolume']>().toEqualTypeOf<string | undefined>()
// @ts-expect-error maxErrors is a number
receive(readable, '/mnt/backup', { maxErrors: '1' })

// parse and dump: async iteration of commands and of lines; the union narrows on `type`.
expectTypeOf(parse(readable)).toExtend<AsyncIterable<Command>>()
expectTypeOf(parse).toBeCallableWith('stream.bin', { verifyCrc: false, copy: true })
expectTypeOf(createParser()).toEqualTypeOf<Transform>()
expectTypeOf(dump(readable, { format: 'json' })).toExtend<AsyncIterable<string>>()
expectTypeOf<CommandOf<'write'>>().toHaveProperty('data').toEqualTypeOf<Buffer>()
expectTypeOf<CommandOf<'write'>>().toHaveProperty('fileOffset').toEqualTypeOf<number>()
expectTypeOf<CommandOf<'subvol'>>().toHaveProperty('ctransid').toEqualTypeOf<bigint>()
expectTypeOf<CommandOf<'rename'>>().toHaveProperty('pathTo').toEqualTypeOf<Buffer>()
expectTypeOf(decodePath).toBeCallableWith(Buffer.from('name'))
expectTypeOf(decodePath(Buffer.from('name'))).toEqualTypeOf<string>()
expectTypeOf(new StreamDecoder().push(Buffer.alloc(0))).toEqualTypeOf<Command[]>()
expectTypeOf(new StreamEncoder().header()).toEqualTypeOf<Buffer>()

// subvolume: promises of plain values.
expectTypeOf(subvolume.info('/mnt/a')).toEqualTypeOf<Promise<SubvolumeInfo>>()
expectTypeOf<SubvolumeInfo['receivedUuid']>().toEqualTypeOf<string | null>()
expectTypeOf<SubvolumeInfo['otime']>().toEqualTypeOf<Date>()
expectTypeOf(subvolume.isReadOnly('/mnt/a')).toEqualTypeOf<Promise<boolean>>()
expectTypeOf(subvolume.snapshot).toBeCallableWith('/mnt/a', '/mnt/b', { readOnly: true })

// errors: one base class with a registry code; each kind extends it.
// ErrorCode is the registry's codes, the platform's errno names (BtrfsSystemError) and ABORT_ERR.
expectTypeOf<keyof typeof ERROR_CODES>().toExtend<ErrorCode>()
expectTypeOf<'ENOENT'>().toExtend<ErrorCode>()
expectTypeOf<'ABORT_ERR'>().toExtend<ErrorCode>()
expectTypeOf<'BTRFS_NO_SUCH_CODE'>().not.toExtend<ErrorCode>()
expectTypeOf<'BTRFS_SEND_NOT_READONLY'>().toExtend<ErrorCode>()
expectTypeOf<BtrfsSystemError>().toExtend<BtrfsError>()
expectTypeOf<StreamFormatError>().toExtend<BtrfsError>()
expectTypeOf<ReceiveError>().toExtend<BtrfsError>()
expectTypeOf<StreamFormatError['offset']>().toEqualTypeOf<number>()
