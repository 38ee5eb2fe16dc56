// Two hosts on one machine for network tests: network namespaces A and B joined by a veth pair,
// with addresses from a private /30 that exists only inside them. Made and removed by the test
// (destroy() in afterAll, and on process exit); namespaces of dead test runs are removed first.
// Commands run "on" a host through `ip netns exec NS …`. TCP gives up on a dead peer within
// seconds in these namespaces (few retransmissions, short keepalive), so a cut link fails fast.
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'

const PREFIX = 'btrfs-stream-ns'

export interface HostPair {
  a: string
  b: string
  addrA: string
  addrB: string
  /** A's end of the link (inside A). */
  devA: string
  /** Runs a command in namespace `ns`, returning stdout. */
  exec(ns: string, cmd: string, args: string[]): string
  /** Starts a command in namespace `ns`. */
  spawnIn(ns: string, cmd: string, args: string[], options?: SpawnOptions): ChildProcess
  /** Takes the link down (no packet passes either way; nothing tells the peers). */
  cut(): void
  restore(): void
  destroy(): void
}

function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Removes the namespaces left by test runs whose process is gone. */
export function cleanupStaleNamespaces(): void {
  for (const line of ip(['netns', 'list']).split('\n')) {
    const m = new RegExp(`^(${PREFIX}-(\\d+)-\\S+)`).exec(line)
    if (m && !alive(Number(m[2]))) ip(['netns', 'del', m[1]])
  }
}

/** The reason these tests cannot run here, or undefined. */
export function netnsUnavailable(): string | undefined {
  try {
    ip(['netns', 'list'])
  } catch (err) {
    return `ip netns is not usable: ${(err as Error).message}`
  }
  return process.getuid?.() === 0 ? undefined : 'network namespaces need root'
}

let counter = 0

export function createHostPair(): HostPair {
  cleanupStaleNamespaces()
  const n = counter++
  const tag = `${process.pid}-${n}`
  const a = `${PREFIX}-${tag}-a`
  const b = `${PREFIX}-${tag}-b`
  // Interface names are at most 15 bytes.
  const id = `${process.pid % 100000}${n}`
  const devA = `bsa${id}`
  const devB = `bsb${id}`
  const net = `10.${200 + (process.pid % 50)}.${n % 256}`
  const addrA = `${net}.1`
  const addrB = `${net}.2`
  const exec = (ns: string, cmd: string, args: string[]) =>
    execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  const destroy = () => {
    for (const ns of [a, b]) {
      try {
        ip(['netns', 'del', ns])
      } catch {}
    }
    process.removeListener('exit', destroy)
  }
  process.on('exit', destroy)
  try {
    ip(['netns', 'add', a])
    ip(['netns', 'add', b])
    ip(['link', 'add', devA, 'netns', a, 'type', 'veth', 'peer', 'name', devB, 'netns', b])
    for (const [ns, dev, addr] of [[a, devA, addrA], [b, devB, addrB]]) {
      exec(ns, 'ip', ['addr', 'add', `${addr}/30`, 'dev', dev])
      exec(ns, 'ip', ['link', 'set', dev, 'up'])
      exec(ns, 'ip', ['link', 'set', 'lo', 'up'])
      // Per-namespace TCP settings: a peer that stops answering is given up within seconds.
      exec(ns, 'sysctl', ['-q', '-w', 'net.ipv4.tcp_retries2=3', 'net.ipv4.tcp_keepalive_intvl=1', 'net.ipv4.tcp_keepalive_probes=2', 'net.ipv4.tcp_keepalive_time=1'])
    }
  } catch (err) {
    destroy()
    throw err
  }
  return {
    a,
    b,
    addrA,
    addrB,
    devA,
    exec,
    spawnIn: (ns, cmd, args, options = {}) => spawn('ip', ['netns', 'exec', ns, cmd, ...args], options),
    cut: () => exec(a, 'ip', ['link', 'set', devA, 'down']),
    restore: () => exec(a, 'ip', ['link', 'set', devA, 'up']),
    destroy,
  }
}
