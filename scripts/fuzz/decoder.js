#!/usr/bin/env node
// Decoder fuzzing at volume: pushes N generated and mutated inputs (default 10 million) through
// StreamDecoder, dump's text and JSON formatting, and (every 1000th input) dump() itself, from
// dist/ (run `npm run build` first). Fails on any error that is not a registry-coded BtrfsError
// (a crash), and on a hang: the work runs in a child process that reports progress, and the
// parent kills it after 30 s of silence, naming the input range. Usage:
//   node scripts/fuzz/decoder.js [count] [seed]
'use strict'
const { fork } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '../..')
const count = Number(process.argv[2] ?? 10_000_000)
const seed = Number(process.argv[3] ?? 1)
const REPORT_EVERY = 50_000

function loadLib() {
  const dist = (m) => require(path.join(root, 'dist', m))
  return {
    ...dist('errors.js'),
    ...dist('stream/decoder.js'),
    ...dist('stream/encoder.js'),
    ...dist('stream/crc32c.js'),
    ...dist('dump/format.js'),
    ...dist('dump/dump.js'),
  }
}

function bases() {
  const dir = path.join(root, 'test/fixtures/streams')
  return fs.readdirSync(dir).filter((f) => f.endsWith('.bin')).map((f) => fs.readFileSync(path.join(dir, f)))
    // Fixtures are cut into 2 KiB windows at command starts' worth of variety: copying a whole
    // 300 KiB stream per input would dominate the run, and every window still holds a header.
    .flatMap((b) => [b.subarray(0, 2048), Buffer.concat([b.subarray(0, 17), b.subarray(b.length - 2048)])])
}

async function child() {
  const { makeInput, runOne } = require('./decoder-cases.js')
  const lib = loadLib()
  const inputs = bases()
  let bytes = 0
  for (let i = 0; i < count; i++) {
    const input = makeInput(seed, i, inputs, lib)
    bytes += input.length
    const breach = runOne(input, i, lib)
    if (breach) {
      const file = path.join(require('node:os').tmpdir(), `fuzz-decoder-${seed}-${i}.bin`)
      fs.writeFileSync(file, input)
      process.send({ t: 'breach', i, breach, file })
      process.exit(1)
    }
    if (i % 1000 === 0) {
      try {
        for await (const _ of lib.dump([input], { timeZone: 'UTC', format: i % 2000 === 0 ? 'json' : 'text' }));
      } catch (err) {
        if (!(err instanceof lib.BtrfsError && lib.isErrorCode(err.code))) {
          process.send({ t: 'breach', i, breach: `dump(): ${err && err.stack}` })
          process.exit(1)
        }
      }
    }
    if (i % REPORT_EVERY === 0) process.send({ t: 'progress', i, bytes })
  }
  process.send({ t: 'done', i: count, bytes })
}

function parent() {
  const started = process.hrtime.bigint()
  const worker = fork(__filename, process.argv.slice(2), { env: { ...process.env, FUZZ_DECODER_CHILD: '1' } })
  let last = { i: 0, bytes: 0 }
  let timer
  const arm = () => {
    clearTimeout(timer)
    timer = setTimeout(() => {
      console.error(`HANG: no progress for 30 s after input ${last.i} (seed ${seed}); inputs ${last.i}..${last.i + REPORT_EVERY}`)
      worker.kill('SIGKILL')
      process.exit(1)
    }, 30_000)
  }
  arm()
  worker.on('message', (m) => {
    if (m.t === 'breach') {
      console.error(`BREACH at input ${m.i} (seed ${seed})${m.file ? `, saved to ${m.file}` : ''}:\n${m.breach}`)
      process.exitCode = 1
      return
    }
    last = m
    arm()
    const secs = Number(process.hrtime.bigint() - started) / 1e9
    if (m.t === 'done') {
      clearTimeout(timer)
      console.log(`decoder fuzz: ${m.i} inputs (${(m.bytes / 1e9).toFixed(2)} GB), seed ${seed}, ${secs.toFixed(1)} s, 0 crashes, 0 hangs, 0 non-coded errors`)
    } else if (m.i % 1_000_000 === 0 && m.i > 0) {
      console.log(`  ${m.i} inputs, ${secs.toFixed(0)} s`)
    }
  })
  worker.on('exit', (code) => {
    clearTimeout(timer)
    if (code !== 0 && !process.exitCode) {
      console.error(`fuzz child exited with code ${code} after input ${last.i} (a crash outside the checked calls)`)
      process.exitCode = 1
    }
  })
}

if (process.env.FUZZ_DECODER_CHILD === '1') child().catch((err) => {
  console.error(err)
  process.exit(1)
})
else parent()
