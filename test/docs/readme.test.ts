// The README stays true to the code.
// - It lists every error code of the registry, and its quick-start commands exist.
// - Every code block is checked (the info-string grammar is in markdown.ts): TypeScript blocks
//   are type-checked against the BUILT package (a consumer project where 'btrfs-stream' is this
//   repository, resolving to dist/ through package.json's exports), together with the type tests
//   of test/types/ and the option tables' names; sh blocks are syntax-checked.
// - The blocks not tagged not-run are run, in README order, on a loopback btrfs set up as the
//   README's example story says, with `/mnt` replaced by its mount point (the one substitution).
// - Each option table is checked against the code: its names against the options type (at
//   compile time, both ways), its stated defaults against the defaults the code applies.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { DEFAULT_MAX_COMMAND_LENGTH, ERROR_CODES, StreamDecoder, StreamEncoder, WARNING_CODES } from '../../lib/index.js'
import { RECEIVE_DEFAULTS } from '../../lib/receive/api/options.js'
import { normalizeSendOptions } from '../../lib/send/options.js'
import { describeBtrfs, sh } from '../support/btrfs.js'
import { digest } from '../receive/support/harness.js'
import { codeBlocks, optionTables, statedDefault, type CodeBlock } from './markdown.js'

const root = path.resolve(__dirname, '../..')
const readme = readFileSync(path.join(root, 'README.md'), 'utf8')
const blocks = codeBlocks(readme)
const tables = optionTables(readme)

/**
 * Which options type and which code defaults each option table documents, by the section it
 * stands in. A new option table fails the tests until it is listed here.
 */
const OPTION_TABLES: Record<string, { type: string; defaults: () => object }> = {
  Send: { type: 'SendOptions', defaults: () => normalizeSendOptions('/', {}) },
  Receive: { type: 'ReceiveOptions', defaults: () => RECEIVE_DEFAULTS },
  'Parse, dump, encode (pure TypeScript)': { type: 'ParseOptions', defaults: () => ({ verifyCrc: decoderChecksCrc(), maxCommandLength: DEFAULT_MAX_COMMAND_LENGTH }) },
}

/** Whether a StreamDecoder made without options rejects a command whose CRC is wrong. */
function decoderChecksCrc(): boolean {
  const enc = new StreamEncoder()
  const end = enc.encode({ type: 'end' })
  end[end.length - 1] ^= 0xff
  try {
    new StreamDecoder().push(Buffer.concat([enc.header(), end]))
    return false
  } catch (err) {
    if ((err as { code?: string }).code !== 'BTRFS_STREAM_BAD_CRC') throw err
    return true
  }
}

test.each(Object.keys(ERROR_CODES))('README lists error code %s', (code) => {
  expect(readme).toMatch(new RegExp(`\\| \`${code}\` \\|`))
})

test.each(Object.keys(WARNING_CODES))('README lists warning code %s', (code) => {
  expect(readme).toMatch(new RegExp(`\\| \`${code}\` \\|`))
})

test('the quick start names scripts that exist', () => {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'))
  expect(readme).toContain('bash scripts/setup.sh && npm run demo')
  expect(readme).toContain('npm test')
  expect(pkg.scripts.demo).toBe('node scripts/demo.js')
  expect(readFileSync(path.join(root, 'scripts/setup.sh'), 'utf8')).toContain('npm ci')
})

const name = (b: CodeBlock): string => `readme-${b.line}`
const compiled = blocks.filter((b) => b.lang === 'ts' && b.tag !== 'not-compiled')

describe('README code blocks', () => {
  test('the blocks not run or not compiled, and why', () => {
    const exempt = blocks.filter((b) => b.tag !== undefined && b.lang !== 'text')
    for (const b of exempt) expect(b.reason.length).toBeGreaterThan(10)
    // Printed so a reader of the test log sees what the README does not prove.
    console.log(exempt.map((b) => `README.md:${b.line} ${b.lang} ${b.tag}: ${b.reason}`).join('\n'))
    expect(blocks.filter((b) => b.lang !== 'text' && b.tag === undefined).length).toBeGreaterThanOrEqual(6)
  })

  test('blocks tagged not-compiled name packages that are indeed not installed here', () => {
    const claims = blocks.filter((b) => b.tag === 'not-compiled').flatMap((b) =>
      b.reason.replace(/^needs /, '').split(/\s+/).map((pkg) => ({ line: b.line, pkg, installed: existsSync(path.join(root, 'node_modules', pkg, 'package.json')) })))
    expect(claims.filter((c) => c.installed)).toEqual([])
  })

  test.each(blocks.filter((b) => b.lang === 'sh').map((b) => [b.line, b] as const))('README.md:%d (sh) parses', (_line, b) => {
    expect(spawnSync('bash', ['-n'], { input: b.code, encoding: 'utf8' }).stderr).toBe('')
  })

  // js blocks are programs a test elsewhere runs as they stand (e.g. between two hosts): here they
  // must at least parse as ES modules.
  test.each(blocks.filter((b) => b.lang === 'js').map((b) => [b.line, b] as const))('README.md:%d (js) parses', (_line, b) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'btrfs-stream-readme-js-'))
    try {
      const file = path.join(dir, 'block.mjs')
      writeFileSync(file, b.code)
      expect(spawnSync(process.execPath, ['--check', file], { encoding: 'utf8' }).stderr).toBe('')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test.each(tables.map((t) => [t.section, t] as const))('the option table under "%s" is checked against the code', (section, t) => {
    const mapped = OPTION_TABLES[section]
    if (!mapped) throw new Error(`README.md:${t.line}: add the options type and defaults of this table to OPTION_TABLES`)
    const defaults = mapped.defaults() as Record<string, unknown>
    for (const { option, meaning } of t.rows) {
      const stated = statedDefault(meaning)
      const code = defaults[option]
      if (stated !== undefined) expect({ option, default: stated }).toEqual({ option, default: code })
      // A default that is not "off" must be stated.
      else if (typeof code === 'number' || code === true) expect({ option, meaning }).toEqual({ option, meaning: `… default ${String(code)} …` })
    }
  })
})

/** A TypeScript project that consumes the package as an installed dependency would. */
let consumer: string
let tscOutput: string

/** Makes the consumer project and compiles README blocks, option names and test/types in it. */
function compileConsumer(): string {
  consumer = mkdtempSync(path.join(os.tmpdir(), 'btrfs-stream-readme-'))
  const modules = path.join(consumer, 'node_modules')
  mkdirSync(path.join(modules, '@types'), { recursive: true })
  mkdirSync(path.join(modules, '.bin'))
  symlinkSync(root, path.join(modules, 'btrfs-stream'))
  symlinkSync(path.join(root, 'node_modules/@types/node'), path.join(modules, '@types/node'))
  symlinkSync(path.join(root, 'node_modules/expect-type'), path.join(modules, 'expect-type'))
  // The S3 examples import the AWS SDK, a devDependency here (an optional peer for users).
  symlinkSync(path.join(root, 'node_modules/@aws-sdk'), path.join(modules, '@aws-sdk'))
  symlinkSync(path.join(root, 'dist/cli/main.js'), path.join(modules, '.bin/btrfs-stream'))
  writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ type: 'module' }))
  writeFileSync(path.join(consumer, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022'], strict: true,
      types: ['node'], outDir: 'out', rootDir: '.', skipLibCheck: true,
    },
    include: ['blocks/*.ts', 'types/*.ts', 'options/*.ts'],
  }))
  for (const dir of ['blocks', 'types', 'options']) mkdirSync(path.join(consumer, dir))
  for (const b of compiled) {
    // `export {}` makes a block without imports a module too (top-level await needs one).
    writeFileSync(path.join(consumer, 'blocks', `${name(b)}.ts`), `${b.code}export {}\n`)
  }
  for (const f of readdirSync(path.join(root, 'test/types'))) {
    writeFileSync(path.join(consumer, 'types', f), readFileSync(path.join(root, 'test/types', f)))
  }
  // Each table's names, both ways: an error names an option the table misses or one that
  // does not exist ("Type '"x"' does not satisfy the constraint 'never'").
  const lines = ['type None<T extends never> = T']
  for (const t of tables) {
    const mapped = OPTION_TABLES[t.section]
    if (!mapped) continue
    const documented = t.rows.map((r) => `'${r.option}'`).join(' | ')
    lines.push(`import type { ${mapped.type} } from 'btrfs-stream'`)
    lines.push(`export type MissingFromReadme${t.line} = None<Exclude<keyof ${mapped.type}, ${documented}>>`)
    lines.push(`export type NotIn${mapped.type}${t.line} = None<Exclude<${documented}, keyof ${mapped.type}>>`)
  }
  writeFileSync(path.join(consumer, 'options', 'documented.ts'), lines.join('\n') + '\n')
  const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', consumer], { encoding: 'utf8' })
  return tsc.stdout + tsc.stderr
}

beforeAll(() => {
  tscOutput = compileConsumer()
}, 120000)
afterAll(() => rmSync(consumer, { recursive: true, force: true }))

test('README TypeScript blocks, option tables and test/types compile against the built package', () => {
  expect(compiled.length).toBeGreaterThanOrEqual(6)
  expect(tscOutput).toBe('')
})

const MNT = /(?<=^|['"`\s])\/mnt(?=[/'"`\s]|$)/gm

describeBtrfs('README examples, run in order on loopback btrfs (/mnt replaced by its mount)', { size: '1G' }, (fs) => {
  let work: string
  beforeAll(() => {
    // The example story: /mnt/data, its read-only snapshot /mnt/snaps/2024-06-01, /mnt/backup.
    const mnt = fs().mnt
    sh('btrfs', ['subvolume', 'create', path.join(mnt, 'data')])
    for (let i = 0; i < 20; i++) writeFileSync(path.join(mnt, 'data', `file${i}`), `contents ${i}\n`.repeat(100 * i))
    mkdirSync(path.join(mnt, 'snaps'))
    sh('btrfs', ['subvolume', 'snapshot', '-r', path.join(mnt, 'data'), path.join(mnt, 'snaps/2024-06-01')])
    writeFileSync(path.join(mnt, 'data', 'changed-later'), 'new\n')
    mkdirSync(path.join(mnt, 'backup'))
    work = path.join(fs().dir, 'work')
    mkdirSync(work)
  })

  const runnable = blocks.filter((b) => b.tag === undefined && b.lang !== 'text')
  test.each(runnable.map((b) => [b.line, b.lang, b] as const))('README.md:%d (%s) runs', (_line, _lang, b) => {
    const mnt = fs().mnt
    let r
    if (b.lang === 'ts') {
      const js = readFileSync(path.join(consumer, 'out/blocks', `${name(b)}.js`), 'utf8')
      const file = path.join(consumer, 'out/blocks', `${name(b)}.run.js`)
      writeFileSync(file, js.replace(MNT, mnt))
      r = spawnSync(process.execPath, [file], { cwd: work, encoding: 'utf8' })
    } else {
      const env = { ...process.env, PATH: `${path.join(consumer, 'node_modules/.bin')}:${process.env.PATH}` }
      r = spawnSync('bash', ['-eo', 'pipefail', '-c', b.code.replace(MNT, mnt)], { cwd: work, encoding: 'utf8', env })
    }
    expect({ status: r.status, stderr: r.stderr.split('\n').filter((l) => !/^At (subvol|snapshot) /.test(l)).join('\n') }).toEqual({ status: 0, stderr: '' })
  })

  test('the story ends with received copies equal to their sources', () => {
    const mnt = fs().mnt
    for (const dest of ['backup', 'backup2']) {
      expect(digest(path.join(mnt, dest, '2024-06-02'))).toBe(digest(path.join(mnt, 'snaps/2024-06-02')))
    }
    expect(digest(path.join(mnt, 'backup/2024-06-01'))).toBe(digest(path.join(mnt, 'snaps/2024-06-01')))
    expect(execFileSync(path.join(root, 'dist/cli/main.js'), ['dump', '-f', path.join(work, 'incr.btrfs')], { encoding: 'utf8' })).toBe(readFileSync(path.join(work, 'incr.dump'), 'utf8'))
  })
})
