// Loopback btrfs for tests, the demo and the benches: a sparse image in a unique temp dir,
// mkfs.btrfs, a loop device, a mount; and the matching teardown, which always unmounts and
// detaches. Every live filesystem is also torn down on process exit and on SIGINT/SIGTERM, so
// a failing or interrupted run leaves no mount or loop device behind. Needs root.
'use strict'
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const PREFIX = 'btrfs-stream-loop-'
const live = new Set()

function run(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts })
}

function which(cmd) {
  for (const dir of (process.env.PATH || '/usr/sbin:/usr/bin:/sbin:/bin').split(':').concat(['/usr/sbin', '/sbin'])) {
    const p = path.join(dir, cmd)
    try {
      fs.accessSync(p, fs.constants.X_OK)
      return p
    } catch {}
  }
  return undefined
}

/** Why loopback btrfs cannot run here, or undefined when it can. */
function unavailableReason() {
  if (process.getuid && process.getuid() !== 0) return 'needs root'
  if (!which('mkfs.btrfs')) return 'needs mkfs.btrfs (apt-get install btrfs-progs)'
  if (!which('losetup')) return 'needs losetup'
  let filesystems = ''
  try {
    filesystems = fs.readFileSync('/proc/filesystems', 'utf8')
  } catch {}
  if (!/\bbtrfs\b/.test(filesystems) && !fs.existsSync('/sys/fs/btrfs')) {
    try {
      run('modprobe', ['btrfs'])
    } catch {}
    if (!fs.existsSync('/sys/fs/btrfs')) return 'needs the btrfs kernel module'
  }
  return undefined
}

/**
 * Creates and mounts a fresh btrfs. Options: size ('1G'), mountOptions (['compress=zstd']),
 * mkfsArgs. Returns { dir, image, device, mnt }.
 */
function createLoopBtrfs(options = {}) {
  // The creator's pid in the name lets cleanupStale() spare filesystems of runs still alive.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}${process.pid}-`))
  const fsys = { dir, image: path.join(dir, 'image'), mnt: path.join(dir, 'mnt'), device: undefined, mounted: false }
  live.add(fsys)
  try {
    fs.writeFileSync(fsys.image, '')
    fs.truncateSync(fsys.image, parseSize(options.size || '1G'))
    run('mkfs.btrfs', ['-q', '-f', ...(options.mkfsArgs || []), fsys.image])
    fs.mkdirSync(fsys.mnt)
    fsys.device = run('losetup', ['--find', '--show', fsys.image]).trim()
    const mountArgs = options.mountOptions && options.mountOptions.length ? ['-o', options.mountOptions.join(',')] : []
    run('mount', ['-t', 'btrfs', ...mountArgs, fsys.device, fsys.mnt])
    fsys.mounted = true
    return fsys
  } catch (err) {
    destroyLoopBtrfs(fsys)
    throw err
  }
}

/** Unmounts, detaches and removes everything createLoopBtrfs made. Safe to call twice. */
function destroyLoopBtrfs(fsys) {
  if (!fsys) return
  const errors = []
  if (fsys.mounted) {
    for (let attempt = 0; attempt < 20 && fsys.mounted; attempt++) {
      try {
        run('umount', [fsys.mnt])
        fsys.mounted = false
      } catch {
        sleepMs(100)
      }
    }
    if (fsys.mounted) {
      try {
        run('umount', ['-l', fsys.mnt])
        fsys.mounted = false
      } catch (err) {
        errors.push(err)
      }
    }
  }
  if (fsys.device) {
    try {
      run('losetup', ['-d', fsys.device])
      fsys.device = undefined
    } catch (err) {
      errors.push(err)
    }
  }
  if (!fsys.mounted) fs.rmSync(fsys.dir, { recursive: true, force: true })
  live.delete(fsys)
  if (errors.length) throw errors[0]
}

/** True for a path inside one of our temp dirs whose creating process has died. */
function isStale(p) {
  const m = new RegExp(`/${PREFIX}(\\d+)-`).exec(p)
  if (!m) return false
  try {
    process.kill(Number(m[1]), 0)
    return false
  } catch (err) {
    return err.code === 'ESRCH'
  }
}

/** Unmounts and detaches what killed runs left behind (only ours, and only of dead processes). */
function cleanupStale() {
  const mounts = fs.readFileSync('/proc/mounts', 'utf8').split('\n')
  for (const line of mounts) {
    const mnt = (line.split(' ')[1] || '').replace(/\\040/g, ' ')
    if (isStale(mnt)) {
      try {
        run('umount', ['-l', mnt])
      } catch {}
    }
  }
  let list = ''
  try {
    list = run('losetup', ['-a'])
  } catch {}
  for (const line of list.split('\n')) {
    const m = /^(\/dev\/loop\d+):.*\((.*)\)/.exec(line)
    if (m && isStale(m[2])) {
      try {
        run('losetup', ['-d', m[1]])
      } catch {}
    }
  }
  const mounted = fs.readFileSync('/proc/mounts', 'utf8')
  for (const name of fs.readdirSync(os.tmpdir())) {
    const dir = path.join(os.tmpdir(), name)
    if (isStale(`${dir}/`) && !mounted.includes(`${dir}/`)) fs.rmSync(dir, { recursive: true, force: true })
  }
}

function parseSize(text) {
  const m = /^(\d+)([KMG]?)$/i.exec(String(text))
  if (!m) throw new Error(`bad size ${text}`)
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2].toUpperCase()]
  return Number(m[1]) * unit
}

function sleepMs(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

function teardownAll() {
  for (const fsys of [...live]) {
    try {
      destroyLoopBtrfs(fsys)
    } catch {}
  }
}

process.on('exit', teardownAll)
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    teardownAll()
    process.kill(process.pid, sig)
  })
}

module.exports = { createLoopBtrfs, destroyLoopBtrfs, unavailableReason, cleanupStale, run, PREFIX }
