// Starts the receive worker. From the built package (dist/) it is worker.js beside this file.
// From the TypeScript sources (the test suite runs lib/ through a transform) there is no .js, so
// the worker is bootstrapped with a require hook that compiles lib/*.ts with @swc/core, a dev
// dependency; that path never runs in an installed package.
import { existsSync } from 'node:fs'
import path from 'node:path'
import { Worker } from 'node:worker_threads'

const BOOTSTRAP = `
const { workerData } = require('node:worker_threads')
const Module = require('node:module')
const fs = require('node:fs')
const path = require('node:path')
const req = Module.createRequire(workerData.__root + '/package.json')
const swc = req('@swc/core')
const resolve = Module._resolveFilename
Module._resolveFilename = function (request, parent, ...rest) {
  if (parent && parent.filename && parent.filename.endsWith('.ts') && request.startsWith('.') && request.endsWith('.js')) {
    const ts = path.resolve(path.dirname(parent.filename), request.slice(0, -3) + '.ts')
    if (fs.existsSync(ts)) return ts
  }
  return resolve.call(this, request, parent, ...rest)
}
Module._extensions['.ts'] = function (module, filename) {
  const { code } = swc.transformSync(fs.readFileSync(filename, 'utf8'), {
    filename, sourceMaps: 'inline',
    jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
    module: { type: 'commonjs' },
  })
  module._compile(code, filename)
}
require(workerData.__entry)
`

/** The receiver closes fds it opened natively with fs.closeSync: not "unmanaged" fds to track. */
const OPTIONS = { trackUnmanagedFds: false }

export function spawnReceiveWorker(workerData: object): Worker {
  const js = path.join(__dirname, 'worker.js')
  if (existsSync(js)) return new Worker(js, { workerData, ...OPTIONS })
  const entry = path.join(__dirname, 'worker.ts')
  const root = path.resolve(__dirname, '..', '..')
  return new Worker(BOOTSTRAP, { eval: true, ...OPTIONS, workerData: { ...workerData, __entry: entry, __root: root } })
}
