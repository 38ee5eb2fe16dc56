// The `btrfs-stream/s3` subpath as a consumer sees it: require() and import give the same
// instance, the declarations type-check, and the main entry never loads the AWS SDK (users who
// do not use S3 need not install it); without the SDK, S3 calls fail with BTRFS_S3_SDK_MISSING.
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const root = path.resolve(__dirname, '../..')
let consumer: string
let bare: string

beforeAll(() => {
  consumer = mkdtempSync(path.join(os.tmpdir(), 'btrfs-stream-s3-entry-'))
  mkdirSync(path.join(consumer, 'node_modules/@types'), { recursive: true })
  symlinkSync(root, path.join(consumer, 'node_modules/btrfs-stream'))
  symlinkSync(path.join(root, 'node_modules/@aws-sdk'), path.join(consumer, 'node_modules/@aws-sdk'))
  symlinkSync(path.join(root, 'node_modules/@smithy'), path.join(consumer, 'node_modules/@smithy'))
  symlinkSync(path.join(root, 'node_modules/@types/node'), path.join(consumer, 'node_modules/@types/node'))
  // A consumer without the SDK: dist/ copied by reference of its files would still resolve the
  // repository's node_modules, so the SDK is hidden with a require hook instead.
  bare = path.join(consumer, 'hide-sdk.js')
  writeFileSync(bare, `
    const Module = require('node:module')
    const resolve = Module._resolveFilename
    Module._resolveFilename = function (request, ...rest) {
      if (request.startsWith('@aws-sdk/')) { const e = new Error('Cannot find module ' + request); e.code = 'MODULE_NOT_FOUND'; throw e }
      return resolve.call(this, request, ...rest)
    }`)
})
afterAll(() => rmSync(consumer, { recursive: true, force: true }))

function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: consumer, encoding: 'utf8', env: { ...process.env, NODE_NO_WARNINGS: '1' } })
}

test('require and import of btrfs-stream/s3 give one instance; the main entry loads no SDK', () => {
  const out = node(['--input-type=module', '-e', `
    import { upload, restore, download, S3RequestError } from 'btrfs-stream/s3'
    import { createRequire } from 'node:module'
    const require = createRequire(import.meta.url)
    const cjs = require('btrfs-stream/s3')
    console.log([typeof upload, typeof restore, typeof download, upload === cjs.upload, S3RequestError === cjs.S3RequestError].join(' '))`])
  expect(out.trim()).toBe('function function function true true')
  const loaded = node(['-e', `
    require('btrfs-stream')
    console.log(Object.keys(require.cache).filter((k) => k.includes('@aws-sdk')).length)`])
  expect(loaded.trim()).toBe('0')
})

test('without @aws-sdk/client-s3, the subpath imports and its calls fail with BTRFS_S3_SDK_MISSING', () => {
  const out = node(['-r', bare, '-e', `
    const s3 = require('btrfs-stream/s3')
    s3.upload([], { client: { send() {} }, bucket: 'b', key: 'k' }).catch((e) => console.log(e.code))`])
  expect(out.trim()).toBe('BTRFS_S3_SDK_MISSING')
})

test('the declarations type-check for a TypeScript consumer', () => {
  writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ type: 'module' }))
  writeFileSync(path.join(consumer, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] },
    files: ['use.ts'],
  }))
  writeFileSync(path.join(consumer, 'use.ts'), `
    import { S3Client } from '@aws-sdk/client-s3'
    import { send } from 'btrfs-stream'
    import { upload, restore, type UploadResult, type RestoreResult } from 'btrfs-stream/s3'
    const client = new S3Client({})
    const u: Promise<UploadResult> = upload(send('/mnt/s'), { client, bucket: 'b', key: 'k', partSize: 16 * 1024 * 1024 })
    const r: Promise<RestoreResult> = restore({ client, bucket: 'b', prefix: 'p/' }, '/mnt/r', { to: 'snap' })
    void u; void r
  `)
  const tsc = path.join(root, 'node_modules/typescript/bin/tsc')
  expect(execFileSync(process.execPath, [tsc, '-p', consumer], { encoding: 'utf8' })).toBe('')
})
