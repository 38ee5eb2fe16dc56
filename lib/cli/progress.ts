// The progress line the CLI draws on a terminal's stderr, shared by send and receive: human-sized
// byte counts, a line cut to the terminal width, and a drawer that redraws one line in place
// (carriage return, erase) and clears it before other output.
import type { ReceiveProgress } from '../receive/api/options.js'

/** Bytes as B, KiB, MiB, GiB or TiB with one decimal. */
export function human(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024
    i++
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`
}

/** Seconds as M:SS or H:MM:SS. */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  const [h, m, sec] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60]
  const mmss = `${h > 0 ? String(m).padStart(2, '0') : m}:${String(sec).padStart(2, '0')}`
  return h > 0 ? `${h}:${mmss}` : mmss
}

/** `line` cut to fit a terminal `width` columns wide (the last column stays free). */
export function fit(line: string, width: number): string {
  return line.length > width - 1 ? line.slice(0, Math.max(0, width - 2)) + '…' : line
}

function rate(bytes: number, elapsedMs: number): number {
  return elapsedMs > 0 ? (bytes * 1000) / elapsedMs : 0
}

/** Receive: bytes, rate, commands and the subvolume being received. */
export function progressLine(p: ReceiveProgress, elapsedMs: number, width: number): string {
  const line = `${human(p.bytes)} at ${human(rate(p.bytes, elapsedMs))}/s, ${p.commands} commands, ${p.subvolumesDone} done${p.subvolume ? `, receiving ${p.subvolume}` : ''}`
  return fit(line, width)
}

const BAR = 20

/**
 * Send: a bar, percent, bytes of total, rate and ETA once the total (the estimate) is known;
 * bytes and rate before. Percent stops at 99% until the end: an estimate can be a little short.
 */
export function sendProgressLine(p: { bytes: number; total?: number }, elapsedMs: number, width: number): string {
  const speed = rate(p.bytes, elapsedMs)
  if (p.total === undefined || p.total <= 0) return fit(`${human(p.bytes)} at ${human(speed)}/s`, width)
  const fraction = Math.min(p.bytes / p.total, p.bytes >= p.total ? 1 : 0.99)
  const filled = Math.round(fraction * BAR)
  const eta = speed > 0 ? clock(Math.max(0, p.total - p.bytes) / speed) : '--:--'
  const line = `[${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}] ${Math.floor(fraction * 100)}% ${human(p.bytes)} of ${human(p.total)} at ${human(speed)}/s, ETA ${eta}`
  return fit(line, width)
}

/** Redraws one status line on a terminal stream; does nothing when `enabled` is false. */
export class StatusLine {
  #out: NodeJS.WriteStream
  #enabled: boolean
  #drawn = false

  constructor(out: NodeJS.WriteStream, enabled: boolean) {
    this.#out = out
    this.#enabled = enabled
  }

  get width(): number {
    return this.#out.columns || 80
  }

  draw(line: string): void {
    if (!this.#enabled) return
    this.#out.write(`\r\x1b[K${line}`)
    this.#drawn = true
  }

  /** Erases the line (before other output, or at the end). */
  clear(): void {
    if (this.#drawn) this.#out.write('\r\x1b[K')
    this.#drawn = false
  }
}
