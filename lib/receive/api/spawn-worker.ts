// Starts the receive worker. From the built package (dist/) it is worker.js beside this file.
// From the TypeScript sources (the test suite runs lib/ through a transform) there is no .js, so
// the worker is bootstrapped with scripts/ts-require-hook.js, which compiles lib/*.ts with
// @swc/core, a dev dependency; that path never runs in an installed package.
import { existsSync } from 'node:fs'
import path from 'node:path'
import type { Worker } from 'node:worker_threads'

const BOOTSTRAP = `
const { workerData } = require('node:worker_threads')
require(workerData.__root + '/scripts/ts-require-hook.js')
require(workerData.__entry)
`

/**
 * The receiver closes fds it opened natively with fs.closeSync: not "unmanaged" fds to track.
 * `env` is the caller's process.env as its code sees it, taken when the worker starts (Node's
 * default reads the process-wide one, which differs where a sandbox such as jest's wraps it).
 */
const options = (): { trackUnmanagedFds: boolean; env: NodeJS.ProcessEnv } => ({ trackUnmanagedFds: false, env: process.env })

export function spawnReceiveWorker(workerData: object): Worker {
  // Required on use: the package entry imports this file, and a program that only parses
  // streams should not load the worker machinery.
  const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads')
  const js = path.join(__dirname, 'worker.js')
  if (existsSync(js)) return new Worker(js, { workerData, ...options() })
  const entry = path.join(__dirname, 'worker.ts')
  const root = path.resolve(__dirname, '..', '..', '..')
  return new Worker(BOOTSTRAP, { eval: true, ...options(), workerData: { ...workerData, __entry: entry, __root: root } })
}
