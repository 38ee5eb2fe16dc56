// Runs a TypeScript entry of this repository in a child process (the CLI, or receive() in a
// process the test can kill): registers a require hook that compiles lib/ and test/ .ts files
// with @swc/core, as the test runner does in-process. usage: node ts-child.js ENTRY.ts [args…]
'use strict'
const Module = require('node:module')
const fs = require('node:fs')
const path = require('node:path')
const swc = require('@swc/core')

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
    filename,
    jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
    module: { type: 'commonjs' },
  })
  module._compile(code, filename)
}
const entry = path.resolve(process.argv[2])
process.argv.splice(1, 2, entry)
require(entry)
