// Dev-only: lets a plain Node process (a child or a worker thread the tests start) require this
// repository's TypeScript sources, compiling .ts with @swc/core as jest does in-process, and
// mapping the '.js' specifiers of lib/ back to the .ts files. Never used by an installed package.
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
    sourceMaps: 'inline',
    jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
    module: { type: 'commonjs' },
  })
  module._compile(code, filename)
}
