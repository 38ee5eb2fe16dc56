// parse() and createParser(): the same commands as the decoder from any byte source, errors
// surfacing as rejections / stream errors, and backpressure held by the Transform.
import { execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { PassThrough, Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Command } from '../../lib/stream/commands.js'
import { StreamDecoder, decodeAll } from '../../lib/stream/decoder.js'
import { createParser, parse } from '../../lib/stream/parser.js'
import { FIXTURE_DIR, canonical, fixture } from './helpers.js'

async function collect(source: AsyncIterable<Command>): Promise<Command[]> {
  const out: Command[] = []
  // copy: the consumer keeps commands past the next pull
  for await (const c of source) out.push(c)
  return out
}

describe('parse()', () => {
  const name = 'incremental-v2.bin'
  const want = canonical(decodeAll(fixture(name)))

  test('from a file Readable with small chunks', async () => {
    const rs = fs.createReadStream(path.join(FIXTURE_DIR, name), { highWaterMark: 97 })
    expect(canonical(await collect(parse(rs, { copy: true })))).toBe(want)
  })

  test('from an async generator of Uint8Array and from a plain array', async () => {
    const bytes = fixture(name)
    async function* gen(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < bytes.length; i += 1000) yield new Uint8Array(bytes.subarray(i, i + 1000))
    }
    expect(canonical(await collect(parse(gen(), { copy: true })))).toBe(want)
    expect(canonical(await collect(parse([bytes.subarray(0, 5), bytes.subarray(5)])))).toBe(want)
  })

  test('pulls lazily: nothing is read past what the consumer asked for', async () => {
    const bytes = fixture('full-v1.bin')
    let served = 0
    async function* gen(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < bytes.length; i += 512) {
        served = i + 512
        yield bytes.subarray(i, i + 512)
      }
    }
    const it = parse(gen())
    const first = await it.next()
    expect(first.value).toMatchObject({ type: 'subvol' })
    expect(served).toBe(512)
    await it.return()
  })

  test('errors reject the iteration with the coded error', async () => {
    const bytes = fixture(name).subarray(0, 1000)
    await expect(collect(parse([bytes]))).rejects.toMatchObject({ code: 'BTRFS_STREAM_TRUNCATED' })
    await expect(collect(parse([]))).rejects.toMatchObject({ code: 'BTRFS_STREAM_EMPTY' })
    const textMode = Readable.from(['btrfs-stream'], { objectMode: true })
    await expect(collect(parse(textMode as never))).rejects.toThrow(expect.objectContaining({ code: 'BTRFS_INVALID_ARGUMENT' }))
  })
  test('next() calls made without awaiting resolve in order, each with its own command', async () => {
    const bytes = fixture(name)
    const want = decodeAll(bytes, { copy: true })
    async function* gen(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < bytes.length; i += 300) yield new Uint8Array(bytes.subarray(i, i + 300))
    }
    const it = parse(gen(), { copy: true })
    const results = await Promise.all(Array.from({ length: want.length + 2 }, () => it.next()))
    expect(canonical(results.slice(0, want.length).map((r) => r.value as Command))).toBe(canonical(want))
    expect(results.slice(want.length).every((r) => r.done)).toBe(true)
  })

  test('a format error ends the iteration and closes the source; return() closes it too', async () => {
    const bytes = Buffer.from(fixture(name))
    bytes[bytes.length - 20] ^= 0xff
    let closed = 0
    async function* gen(): AsyncGenerator<Uint8Array> {
      try {
        for (let i = 0; i < bytes.length; i += 256) yield bytes.subarray(i, i + 256)
      } finally {
        closed++
      }
    }
    const it = parse(gen())
    await expect(collect(it)).rejects.toMatchObject({ code: 'BTRFS_STREAM_BAD_CRC' })
    expect(closed).toBe(1)
    expect(await it.next()).toEqual({ done: true, value: undefined })
    const early = parse(gen())
    await early.next()
    expect(await early.return()).toEqual({ done: true, value: undefined })
    expect(closed).toBe(2)
  })

  test('invalid options throw at the call', () => {
    expect(() => parse([], { maxCommandLength: -1 })).toThrow(expect.objectContaining({ code: 'BTRFS_INVALID_ARGUMENT' }))
  })
})

describe('parse(path): the file reader', () => {
  test('a file path gives the same commands, whatever the chunk size', async () => {
    for (const name of ['full-v1.bin', 'multi-plain-v1.bin', 'compressed-v2.bin']) {
      const got = await collect(parse(path.join(FIXTURE_DIR, name), { copy: true }))
      expect(canonical(got)).toBe(canonical(decodeAll(fixture(name))))
    }
    const { readFileChunks } = await import('../../lib/stream/file-source.js')
    const chunks: Buffer[] = []
    for await (const c of readFileChunks(path.join(FIXTURE_DIR, 'full-v2.bin'), 1000)) chunks.push(Buffer.from(c))
    expect(chunks.length).toBe(Math.ceil(fixture('full-v2.bin').length / 1000))
    expect(Buffer.concat(chunks).equals(fixture('full-v2.bin'))).toBe(true)
  })

  test('without copy, byte fields are valid until the next pull (buffers are reused)', async () => {
    const file = path.join(FIXTURE_DIR, 'full-v1.bin')
    const want = decodeAll(fixture('full-v1.bin'))
    let i = 0
    for await (const c of parse(file)) {
      // Checked before the next pull: still intact.
      expect(canonical([c])).toBe(canonical([want[i++]]))
    }
    expect(i).toBe(want.length)
  })

  test('a pipe (not seekable) is read sequentially', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'btrfs-stream-fifo-'))
    const fifo = path.join(dir, 'fifo')
    try {
      execFileSync('mkfifo', [fifo])
      const writer = spawn('/bin/sh', ['-c', `cat "${path.join(FIXTURE_DIR, 'incremental-v1.bin')}" > "${fifo}"`])
      const closed = new Promise((r) => writer.on('close', r))
      const got = await collect(parse(fifo, { copy: true }))
      expect(canonical(got)).toBe(canonical(decodeAll(fixture('incremental-v1.bin'))))
      expect(await closed).toBe(0)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  test('stopping early closes the file; a missing file rejects with ENOENT', async () => {
    const openFds = (): number => fs.readdirSync('/proc/self/fd').length
    const before = openFds()
    const it = parse(path.join(FIXTURE_DIR, 'full-v2.bin'))
    expect((await it.next()).value).toMatchObject({ type: 'subvol' })
    expect(openFds()).toBe(before + 1)
    await it.return()
    expect(openFds()).toBe(before)
    await expect(collect(parse('/nonexistent/stream.bin'))).rejects.toMatchObject({ code: 'ENOENT' })
  })
})

describe('StreamDecoder.write()/next()', () => {
  test('in chunks: every command is intact when returned (straddles share one reused buffer)', () => {
    for (const name of ['full-v1.bin', 'full-v2.bin', 'compressed-v2.bin']) {
      const bytes = fixture(name)
      const want = decodeAll(bytes).map((c) => canonical([c]))
      for (const size of [1, 7, 1000, 65536]) {
        const d = new StreamDecoder()
        let i = 0
        for (let p = 0; p < bytes.length; p += size) {
          d.write(bytes.subarray(p, p + size))
          for (let c = d.next(); c !== undefined; c = d.next()) expect(canonical([c])).toBe(want[i++])
        }
        d.end()
        expect(i).toBe(want.length)
      }
    }
  })

  test('pull one command at a time; write() refuses until the chunk is drained', () => {
    const bytes = fixture('multi-e-v2.bin')
    const d = new StreamDecoder()
    d.write(bytes)
    expect(() => d.write(bytes)).toThrow(/next\(\) until it returns undefined/)
    expect(() => d.end()).toThrow(/next\(\) until it returns undefined/)
    const got: Command[] = []
    for (let c = d.next(); c !== undefined; c = d.next()) got.push(c)
    d.end()
    expect(canonical(got)).toBe(canonical(decodeAll(bytes)))
    expect(d.atEnd).toBe(true)
    expect(d.position).toBe(bytes.length)
    expect(d.commandCount).toBe(got.length)
    expect(d.version).toBe(2)
  })
})

describe('createParser()', () => {
  test('in a pipeline gives the decoder commands', async () => {
    const out: Command[] = []
    await pipeline(
      fs.createReadStream(path.join(FIXTURE_DIR, 'full-v2.bin'), { highWaterMark: 1000 }),
      createParser({ copy: true }),
      new Writable({
        objectMode: true,
        write(c: Command, _e, cb) {
          out.push(c)
          cb()
        },
      }),
    )
    expect(canonical(out)).toBe(canonical(decodeAll(fixture('full-v2.bin'))))
  })

  test('errors destroy the pipeline with the coded error', async () => {
    const bytes = Buffer.from(fixture('multi-e-v2.bin'))
    bytes[40] ^= 1
    await expect(
      pipeline(Readable.from([bytes]), createParser(), new Writable({ objectMode: true, write: (_c, _e, cb) => cb() })),
    ).rejects.toMatchObject({ code: 'BTRFS_STREAM_BAD_CRC' })
    await expect(
      pipeline(Readable.from([bytes.subarray(0, 30)]), createParser(), new Writable({ objectMode: true, write: (_c, _e, cb) => cb() })),
    ).rejects.toMatchObject({ code: 'BTRFS_STREAM_TRUNCATED' })
  })

  test('backpressure: an unread parser stops accepting input, then delivers everything', async () => {
    const bytes = fixture('full-v1.bin')
    const parser = createParser()
    let offered = 0
    while (offered < bytes.length && parser.write(bytes.subarray(offered, offered + 256))) offered += 256
    await new Promise((r) => setImmediate(r))
    // write() said stop long before the end; the object buffer holds at most its high-water mark
    // plus the commands of one chunk.
    expect(offered).toBeLessThan(bytes.length / 2)
    expect(parser.readableLength).toBeLessThanOrEqual(parser.readableHighWaterMark + 10)
    expect(parser.writableLength).toBeGreaterThan(0)
    const done = collect(parser as AsyncIterable<Command>)
    for (offered += 256; offered < bytes.length; offered += 256) {
      if (!parser.write(bytes.subarray(offered, offered + 256))) await new Promise((r) => parser.once('drain', r))
    }
    parser.end()
    expect((await done).length).toBe(decodeAll(bytes).length)
  })
})
