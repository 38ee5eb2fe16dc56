// Runs a TypeScript entry of this repository in a child process (the CLI, or receive() in a
// process the test can kill), through the shared dev-only require hook.
// usage: node ts-child.js ENTRY.ts [args…]
'use strict'
const path = require('node:path')
require('../../../scripts/ts-require-hook.js')

const entry = path.resolve(process.argv[2])
process.argv.splice(1, 2, entry)
require(entry)
