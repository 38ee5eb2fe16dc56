// estimate() against the real stream (made by btrfs send, the oracle) on several trees: many
// small files (inline extents), large files (many WRITEs each), sparse files, an incremental with
// a punched hole, protocols 1 and 2; and, for compressed sends, the bound it promises.
import { appendFileSync, mkdirSync, rmSync, truncateSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs'
import path from 'node:path'
import { estimate, parse, type EstimateOptions } from '../../lib/index.js'
import { bytes } from '../receive/support/scenarios.js'
import { describeBtrfs, sh } from '../support/btrfs.js'
import { btrfsSend } from './fixtures.js'

async function measure(stream: Buffer): Promise<{ bytes: number; commands: number; dataBytes: number }> {
  let commands = 0
  let dataBytes = 0
  for await (const cmd of parse([stream])) {
    commands++
    if (cmd.type === 'write' || cmd.type === 'encoded_write') dataBytes += cmd.data.length
  }
  return { bytes: stream.length, commands, dataBytes }
}

function pwrite(file: string, data: Buffer, offset: number): void {
  const fd = openSync(file, 'r+')
  writeSync(fd, data, 0, data.length, offset)
  closeSync(fd)
}

describeBtrfs('estimate() against the real stream', { size: '1G' }, (fs) => {
  const p = (name: string) => path.join(fs().mnt, name)

  beforeAll(() => {
    const src = p('src')
    sh('btrfs', ['subvolume', 'create', src])
    mkdirSync(path.join(src, 'small'))
    for (let i = 0; i < 400; i++) writeFileSync(path.join(src, 'small', `f${i}`), bytes(`s${i}`, 1 + ((i * 37) % 3000)))
    writeFileSync(path.join(src, 'large'), bytes('large', 12 * 1024 * 1024 + 4321))
    writeFileSync(path.join(src, 'odd'), bytes('odd', 200_003))
    const sparse = path.join(src, 'sparse')
    writeFileSync(sparse, '')
    truncateSync(sparse, 40 * 1024 * 1024)
    pwrite(sparse, bytes('sp1', 3 * 65536), 100 * 65536)
    pwrite(sparse, bytes('sp2', 4096), 9000 * 4096)
    sh('btrfs', ['subvolume', 'snapshot', '-r', src, p('s1')])
    sh('fallocate', ['-p', '-o', String(100 * 65536), '-l', '65536', sparse])
    appendFileSync(path.join(src, 'large'), bytes('more', 300_000))
    rmSync(path.join(src, 'small', 'f3'))
    writeFileSync(path.join(src, 'new'), bytes('new', 90_000))
    sh('btrfs', ['subvolume', 'snapshot', '-r', src, p('s2')])

    const csrc = p('csrc')
    sh('btrfs', ['subvolume', 'create', csrc])
    sh('btrfs', ['property', 'set', csrc, 'compression', 'zstd'])
    writeFileSync(path.join(csrc, 'text'), 'compressible line of text\n'.repeat(200_000))
    writeFileSync(path.join(csrc, 'random'), bytes('random', 1_000_000))
    writeFileSync(path.join(csrc, 'inline'), 'x'.repeat(3000))
    sh('btrfs', ['subvolume', 'snapshot', '-r', csrc, p('c1')])
  })

  const cases: Array<[string, () => [string, EstimateOptions, string[]]]> = [
    ['full, v1', () => [p('s1'), {}, [p('s1')]]],
    ['full, v2', () => [p('s1'), { protocol: 2 }, ['--proto', '2', p('s1')]]],
    ['incremental with a punched hole, v1', () => [p('s2'), { parent: p('s1') }, ['-p', p('s1'), p('s2')]]],
    ['incremental with a punched hole, v2', () => [p('s2'), { parent: p('s1'), protocol: 2 }, ['--proto', '2', '-p', p('s1'), p('s2')]]],
    ['no file data', () => [p('s2'), { parent: p('s1'), noFileData: true }, ['--no-data', '-p', p('s1'), p('s2')]]],
    ['compressible files sent uncompressed, v2', () => [p('c1'), { protocol: 2 }, ['--proto', '2', p('c1')]]],
  ]

  test.each(cases)('%s: within 1%% of the real stream, same command and data counts', async (_name, make) => {
    const [subvol, options, args] = make()
    const [est, real] = [await estimate(subvol, options), await measure(btrfsSend(fs().dir, args))]
    expect(real.bytes).toBeGreaterThan(0)
    expect(Math.abs(est.bytes - real.bytes) / real.bytes).toBeLessThan(0.01)
    expect(est.commands).toBe(real.commands)
    expect(est.dataBytes).toBe(real.dataBytes)
  })

  test('compressed: an upper bound (the uncompressed size), same command count', async () => {
    const est = await estimate(p('c1'), { compressed: true })
    const real = await measure(btrfsSend(fs().dir, ['--proto', '2', '--compressed-data', p('c1')]))
    const uncompressed = await measure(btrfsSend(fs().dir, ['--proto', '2', p('c1')]))
    expect(real.bytes).toBeLessThan(uncompressed.bytes)
    expect(est.bytes).toBeGreaterThanOrEqual(real.bytes)
    expect(est.bytes).toBe(uncompressed.bytes)
    expect(est.commands).toBe(real.commands)
  })

  test('bad arguments throw as send() does', async () => {
    await expect(estimate(p('s1'), { protocol: 3 as never })).rejects.toMatchObject({ code: 'BTRFS_INVALID_ARGUMENT' })
    await expect(estimate(p('src'))).rejects.toMatchObject({ code: 'BTRFS_SEND_NOT_READONLY' })
  })
})
