// Send and receive between two hosts: network namespaces A and B joined by a veth pair. The
// programs and commands are the README's "Over ssh or a socket" ones, taken from the README
// text (only host, port, paths and the keepalive delay are substituted): a TCP sender on A and
// receiver on B, and `btrfs-stream send | ssh host btrfs-stream receive` against an sshd of the
// test's own in B. Checks: the received tree equals the source (digest, received uuid); a link
// cut or a killed sender mid-stream fails with a code on both sides and leaves no received
// subvolume; a retry then succeeds.
import { execFileSync, type ChildProcess } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { subvolume } from '../../lib/index.js'
import { describeBtrfs, sh } from '../support/btrfs.js'
import { createHostPair, netnsUnavailable, type HostPair } from '../support/netns.js'
import { digest, extraFilesystems, subvolumeShow } from '../receive/support/harness.js'
import { bytes } from '../receive/support/scenarios.js'

const root = path.resolve(__dirname, '../..')
const readme = readFileSync(path.join(root, 'README.md'), 'utf8')
const PORT = 7000 + (process.pid % 1000)

/** The code blocks of the README section `title`, in order. */
function readmeBlocks(title: string): string[] {
  const start = readme.indexOf(`## ${title}\n`)
  if (start < 0) throw new Error(`README has no section '${title}'`)
  const end = readme.indexOf('\n## ', start + 1)
  const section = readme.slice(start, end < 0 ? undefined : end)
  return [...section.matchAll(/```\w*\n([\s\S]*?)```/g)].map((m) => m[1])
}

const [SSH_LINES, RECEIVER_JS, SENDER_JS] = readmeBlocks('Over ssh or a socket')

/** Replaces every `from` in `text`, failing when it is not there (the README changed shape). */
function replace(text: string, pairs: Array<[string, string]>): string {
  for (const [from, to] of pairs) {
    if (!text.includes(from)) throw new Error(`README code lacks '${from}'`)
    text = text.split(from).join(to)
  }
  return text
}

interface Output {
  lines: string[]
  exited: Promise<number | null>
}

function collect(child: ChildProcess): Output {
  const out: Output = { lines: [], exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))) }
  for (const s of [child.stdout, child.stderr]) {
    let rest = ''
    s?.on('data', (d: Buffer) => {
      const parts = (rest + d.toString()).split('\n')
      rest = parts.pop()!
      out.lines.push(...parts)
    })
  }
  return out
}

async function until(check: () => boolean, what: string, timeoutMs = 25_000): Promise<void> {
  const start = Date.now()
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await delay(25)
  }
}

const unavailable = netnsUnavailable()
const strict = process.env.CI === 'true' || process.env.BTRFS_INTEGRATION === '1'
if (unavailable && !strict) {
  test.skip(`network namespaces unavailable: ${unavailable}`, () => undefined)
}

describeBtrfs('send and receive between two hosts (network namespaces)', { size: '1G' }, (fs) => {
  const dests = extraFilesystems(1)
  let hosts: HostPair
  let tmp: string
  let mon: string
  let tue: string
  let receiver: ChildProcess | undefined
  let received: Output
  let dest: string

  beforeAll(async () => {
    if (unavailable) throw new Error(`network namespaces unavailable: ${unavailable}`)
    tmp = mkdtempSync(path.join(os.tmpdir(), 'btrfs-stream-net-'))
    const src = path.join(fs().mnt, 'src')
    sh('btrfs', ['subvolume', 'create', src])
    mkdirSync(path.join(src, 'dir'))
    for (let i = 0; i < 40; i++) writeFileSync(path.join(src, 'dir', `f${i}`), bytes(`f${i}`, 100 + i * 997))
    writeFileSync(path.join(src, 'big'), bytes('big', 8 * 1024 * 1024))
    mon = path.join(fs().mnt, 'mon')
    sh('btrfs', ['subvolume', 'snapshot', '-r', src, mon])
    writeFileSync(path.join(src, 'dir', 'new'), bytes('new', 300_000))
    rmSync(path.join(src, 'dir', 'f3'))
    tue = path.join(fs().mnt, 'tue')
    sh('btrfs', ['subvolume', 'snapshot', '-r', src, tue])

    hosts = createHostPair()
    // The README receiver, on host B, for the whole suite.
    const receiverFile = path.join(tmp, 'receiver.mjs')
    writeFileSync(receiverFile, replace(RECEIVER_JS, [
      ["from 'btrfs-stream'", `from '${root}/dist/index.mjs'`],
      ['const PORT = 7000', `const PORT = ${PORT}`],
      ['KEEPALIVE_MS = 10_000', 'KEEPALIVE_MS = 1_000'],
      ["'/backup/snaps'", 'process.env.DEST'],
    ]))
    dest = path.join(dests()[0].mnt, 'backup')
    mkdirSync(dest)
    receiver = hosts.spawnIn(hosts.b, process.execPath, [receiverFile], { env: { ...process.env, DEST: dest } })
    received = collect(receiver)
    await until(() => hosts.exec(hosts.b, 'ss', ['-ltnH', `sport = :${PORT}`]).includes(String(PORT)), 'the receiver to listen')
  })

  afterAll(() => {
    receiver?.kill('SIGKILL')
    hosts?.destroy()
    if (tmp) rmSync(tmp, { recursive: true, force: true })
  })

  /** The README sender on host A, sending `snap` (incremental from `parent` if given). */
  function startSender(snap: string, parent: string | undefined): { child: ChildProcess; out: Output } {
    let code = replace(SENDER_JS, [
      ["from 'btrfs-stream'", `from '${root}/dist/index.mjs'`],
      ['const PORT = 7000', `const PORT = ${PORT}`],
      ['KEEPALIVE_MS = 10_000', 'KEEPALIVE_MS = 1_000'],
      ["'backup-host'", `'${hosts.addrB}'`],
      ["'/mnt/snaps/tue'", `'${snap}'`],
    ])
    code = replace(code, [["{ parent: '/mnt/snaps/mon' }", parent === undefined ? '{}' : `{ parent: '${parent}' }`]])
    const file = path.join(tmp, `sender-${process.hrtime.bigint()}.mjs`)
    writeFileSync(file, code)
    const child = hosts.spawnIn(hosts.a, process.execPath, [file])
    return { child, out: collect(child) }
  }

  /** The receiver's next log line from index `from` on. */
  async function receiverSays(from: number): Promise<string> {
    await until(() => received.lines.length > from, 'the receiver to report')
    return received.lines[from]
  }

  /** Subvolumes in dest, with their received uuid. */
  function inDest(): Array<{ name: string; receivedUuid: string }> {
    // Hidden names included: a receive in progress lives under a temporary '.btrfs-receive-…' name.
    return readdirSync(dest).map((name) => ({
      name,
      receivedUuid: subvolumeShow(path.join(dest, name)).receivedUuid,
    }))
  }

  async function expectReceivedEqual(snap: string): Promise<void> {
    const got = path.join(dest, path.basename(snap))
    expect(subvolumeShow(got).receivedUuid).toBe(subvolumeShow(snap).uuid)
    expect(digest(got)).toBe(digest(snap))
  }

  async function clearDest(): Promise<void> {
    for (const { name } of inDest()) await subvolume.delete(path.join(dest, name))
  }

  test('TCP: the README sender on A and receiver on B; full then incremental equal the source', async () => {
    for (const [snap, parent] of [[mon, undefined], [tue, mon]] as const) {
      const seen = received.lines.length
      const { out } = startSender(snap, parent)
      expect(await out.exited).toBe(0)
      expect(out.lines).toContain('sent')
      expect(await receiverSays(seen)).toBe(`received ${path.basename(snap)}`)
      await expectReceivedEqual(snap)
    }
    await clearDest()
  })

  test('the link cut mid-stream: both sides fail with a code, nothing received is left; a retry succeeds', async () => {
    // 16 Mbit/s out of A: the 8 MiB stream takes about four seconds, so the cut lands mid-stream.
    hosts.exec(hosts.a, 'tc', ['qdisc', 'add', 'dev', hosts.devA, 'root', 'tbf', 'rate', '16mbit', 'burst', '64kb', 'latency', '500ms'])
    const seen = received.lines.length
    const { out } = startSender(mon, undefined)
    await until(() => inDest().length > 0, 'the receive to start')
    await delay(300)
    hosts.cut()
    try {
      expect(await out.exited).toBe(1)
      // The sender's unacknowledged data runs out of retransmissions: ENETUNREACH or ETIMEDOUT.
      expect(out.lines.join('\n')).toMatch(/^send failed \((ENETUNREACH|EHOSTUNREACH|ETIMEDOUT)\)/m)
      // The receiver, with nothing to send, learns it from keepalive (about ten seconds here).
      expect(await receiverSays(seen)).toMatch(/^receive failed \(ETIMEDOUT\)/)
      expect(inDest()).toEqual([])
    } finally {
      hosts.restore()
      hosts.exec(hosts.a, 'tc', ['qdisc', 'del', 'dev', hosts.devA, 'root'])
    }
    const retry = startSender(mon, undefined)
    expect(await retry.out.exited).toBe(0)
    expect(await receiverSays(seen + 1)).toBe('received mon')
    await expectReceivedEqual(mon)
    await clearDest()
  })

  test('the sender killed mid-stream: the receiver fails with BTRFS_STREAM_TRUNCATED, nothing is left; a retry succeeds', async () => {
    hosts.exec(hosts.a, 'tc', ['qdisc', 'add', 'dev', hosts.devA, 'root', 'tbf', 'rate', '16mbit', 'burst', '64kb', 'latency', '500ms'])
    const seen = received.lines.length
    try {
      const { child, out } = startSender(mon, undefined)
      await until(() => inDest().length > 0, 'the receive to start')
      child.kill('SIGKILL')
      await out.exited
      expect(await receiverSays(seen)).toMatch(/^receive failed \(BTRFS_STREAM_TRUNCATED\)/)
      expect(inDest()).toEqual([])
    } finally {
      hosts.exec(hosts.a, 'tc', ['qdisc', 'del', 'dev', hosts.devA, 'root'])
    }
    const retry = startSender(mon, undefined)
    expect(await retry.out.exited).toBe(0)
    expect(await receiverSays(seen + 1)).toBe('received mon')
    await expectReceivedEqual(mon)
    await clearDest()
  })

  test('ssh: the README lines, run on A against an sshd on B, deliver full and incremental', async () => {
    const sshd = startSshd()
    try {
      const lines = replace(SSH_LINES, [
          ['ssh backup-host', `ssh -F ${path.join(tmp, 'ssh_config')} backup-host`],
          ['/mnt/snaps/mon', mon],
          ['/mnt/snaps/tue', tue],
          ['/backup/snaps', dest],
      ])
      for (const cmd of lines.trim().split('\n')) {
        hosts.exec(hosts.a, 'env', [`PATH=${path.join(tmp, 'bin')}:${process.env.PATH}`, 'bash', '-o', 'pipefail', '-c', cmd])
      }
      await expectReceivedEqual(mon)
      await expectReceivedEqual(tue)
    } finally {
      sshd.kill('SIGKILL')
      await clearDest()
    }
  })

  /** An sshd of the test's own in B: own config, host key and authorized key in the temp dir. */
  function startSshd(): ChildProcess {
    const key = (name: string) => execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', path.join(tmp, name)])
    key('host_key')
    key('client_key')
    writeFileSync(path.join(tmp, 'authorized_keys'), readFileSync(path.join(tmp, 'client_key.pub')))
    chmodSync(tmp, 0o700)
    const bin = path.join(tmp, 'bin')
    mkdirSync(bin)
    symlinkSync(path.join(root, 'dist/cli/main.js'), path.join(bin, 'btrfs-stream'))
    symlinkSync(process.execPath, path.join(bin, 'node'))
    const sshPort = PORT + 1
    writeFileSync(path.join(tmp, 'sshd_config'), [
      `Port ${sshPort}`,
      `ListenAddress ${hosts.addrB}`,
      `HostKey ${path.join(tmp, 'host_key')}`,
      `AuthorizedKeysFile ${path.join(tmp, 'authorized_keys')}`,
      `PidFile ${path.join(tmp, 'sshd.pid')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      `SetEnv PATH=${bin}:/usr/sbin:/usr/bin:/sbin:/bin`,
      '',
    ].join('\n'))
    writeFileSync(path.join(tmp, 'ssh_config'), [
      'Host backup-host',
      `  HostName ${hosts.addrB}`,
      `  Port ${sshPort}`,
      '  User root',
      `  IdentityFile ${path.join(tmp, 'client_key')}`,
      '  IdentitiesOnly yes',
      '  StrictHostKeyChecking no',
      '  UserKnownHostsFile /dev/null',
      '  LogLevel ERROR',
      '',
    ].join('\n'))
    // sshd refuses to start without its privilege separation directory.
    mkdirSync('/run/sshd', { recursive: true })
    const child = hosts.spawnIn(hosts.b, '/usr/sbin/sshd', ['-D', '-e', '-f', path.join(tmp, 'sshd_config')])
    collect(child)
    return child
  }
})
