// The package as a consumer sees it: `require('btrfs-stream')` and `import ... from
// 'btrfs-stream'` both resolve through the exports map to one module instance, the declarations
// type-check for a TypeScript consumer, and the addon is loaded from where CI says.
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { nativePath } from '../../lib/index.js'

const root = path.resolve(__dirname, '../..')
let consumer: string

beforeAll(() => {
  consumer = mkdtempSync(path.join(os.tmpdir(), 'btrfs-stream-consumer-'))
  mkdirSync(path.join(consumer, 'node_modules/@types'), { recursive: true })
  symlinkSync(root, path.join(consumer, 'node_modules/btrfs-stream'))
  symlinkSync(path.join(root, 'node_modules/@types/node'), path.join(consumer, 'node_modules/@types/node'))
})
afterAll(() => rmSync(consumer, { recursive: true, force: true }))

function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: consumer, encoding: 'utf8' })
}

test('CommonJS: require() gives the API', () => {
  const out = node(['-e', `
    const m = require('btrfs-stream')
    console.log([typeof m.send, typeof m.sendToFd, typeof m.subvolume.snapshot, typeof m.BtrfsError, 'BTRFS_SEND_NOT_READONLY' in m.ERROR_CODES].join(' '))`])
  expect(out.trim()).toBe('function function function function true')
})

test('ESM: named imports, and the same instance as require()', () => {
  const out = node(['--input-type=module', '-e', `
    import { send, subvolume, BtrfsError } from 'btrfs-stream'
    import whole from 'btrfs-stream'
    import { createRequire } from 'node:module'
    const cjs = createRequire(import.meta.url)('btrfs-stream')
    console.log([typeof send, typeof subvolume.info, send === cjs.send, BtrfsError === cjs.BtrfsError, whole.send === send].join(' '))`])
  expect(out.trim()).toBe('function function true true true')
})

test('every export of the CommonJS build is re-exported by the ESM entry', () => {
  const out = node(['--input-type=module', '-e', `
    import * as esm from 'btrfs-stream'
    import { createRequire } from 'node:module'
    const cjs = createRequire(import.meta.url)('btrfs-stream')
    const missing = Object.keys(cjs).filter((k) => k !== '__esModule' && !(k in esm))
    console.log(JSON.stringify(missing))`])
  expect(JSON.parse(out)).toEqual([])
})

test('the declarations type-check for an ESM TypeScript consumer', () => {
  writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ type: 'module' }))
  writeFileSync(path.join(consumer, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, types: ['node'] },
    files: ['use.ts'],
  }))
  writeFileSync(path.join(consumer, 'use.ts'), `
    import { send, subvolume, type SendOptions, type SubvolumeInfo } from 'btrfs-stream'
    const options: SendOptions = { parent: '/mnt/a', protocol: 2, compressed: true }
    const stream = send('/mnt/b', options)
    const n: number = stream.bytesRead
    const info: Promise<SubvolumeInfo> = subvolume.info('/mnt/b')
    void n; void info
  `)
  const tsc = path.join(root, 'node_modules/typescript/bin/tsc')
  expect(execFileSync(process.execPath, [tsc, '-p', consumer], { encoding: 'utf8' })).toBe('')
})

test('the addon comes from BTRFS_STREAM_NATIVE when set, else from node-gyp-build', () => {
  const override = process.env.BTRFS_STREAM_NATIVE
  if (override) expect(nativePath()).toBe(path.resolve(override))
  else expect(nativePath()).toMatch(new RegExp(`^${root}/(build/Release|prebuilds/linux-x64)/`))
})
