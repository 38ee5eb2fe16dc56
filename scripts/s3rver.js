#!/usr/bin/env node
// A local S3-compatible server for the tests and bench/s3.js: s3rver (a devDependency) on
// 127.0.0.1, data in DIR, the given buckets created. Prints {"port": N} on stdout once it
// listens; port 0 picks a free one. Runs until killed. As a module, startS3rver() spawns it as
// a child process (so it can be killed like a real server, and its memory is not the caller's).
// Usage: node scripts/s3rver.js DIR PORT BUCKET...
'use strict'
const { spawn } = require('node:child_process')
const readline = require('node:readline')

async function serve(directory, port, buckets) {
  const S3rver = require('s3rver')
  const server = new S3rver({ address: '127.0.0.1', port, directory, silent: true, configureBuckets: buckets.map((name) => ({ name })) })
  const addr = await server.run()
  process.stdout.write(JSON.stringify({ port: addr.port }) + '\n')
}

/** Spawns the server; resolves to { port, child, endpoint } once it listens. */
function startS3rver(directory, buckets, port = 0) {
  const child = spawn(process.execPath, [__filename, directory, String(port), ...buckets], { stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout })
    child.once('exit', (code, signal) => reject(new Error(`s3rver exited before listening (${code ?? signal})`)))
    lines.once('line', (line) => {
      const { port: p } = JSON.parse(line)
      resolve({ port: p, child, endpoint: `http://127.0.0.1:${p}` })
    })
  })
}

/** Kills a server started by startS3rver and waits for it to be gone. */
function stopS3rver(server) {
  return new Promise((resolve) => {
    if (!server || server.child.exitCode !== null || server.child.signalCode !== null) return resolve()
    server.child.once('exit', () => resolve())
    server.child.kill('SIGKILL')
  })
}

module.exports = { startS3rver, stopS3rver }

if (require.main === module) {
  const [directory, port, ...buckets] = process.argv.slice(2)
  if (!directory) {
    process.stderr.write('usage: node scripts/s3rver.js DIR PORT BUCKET...\n')
    process.exit(1)
  }
  serve(directory, Number(port ?? 0), buckets).catch((err) => {
    process.stderr.write(`s3rver: ${err.stack}\n`)
    process.exit(1)
  })
}
