// Send progress and the abort-while-planning fix: onProgress reports from send() and sendToFd()
// (bounded rate, final report equal to the bytes sent, totals from the estimate), and an abort
// that lands while sendToFd is still planning stops it before anything is written.
import { closeSync, fstatSync, openSync } from 'node:fs'
import path from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { estimate, send, sendToFd, type SendProgress } from '../../lib/index.js'
import { describeBtrfs, sh } from '../support/btrfs.js'

describeBtrfs('send progress', { size: '1G' }, (fs) => {
  let snap: string
  beforeAll(() => {
    const src = path.join(fs().mnt, 'src')
    sh('btrfs', ['subvolume', 'create', src])
    sh('dd', ['if=/dev/urandom', `of=${src}/big`, 'bs=1M', 'count=64', 'status=none'])
    snap = path.join(fs().mnt, 'snap')
    sh('btrfs', ['subvolume', 'snapshot', '-r', src, snap])
  })

  function checkReports(reports: Array<SendProgress & { at: number }>, sent: number): void {
    expect(reports.length).toBeGreaterThanOrEqual(1)
    const last = reports[reports.length - 1]
    expect(last.bytes).toBe(sent)
    for (let i = 1; i < reports.length; i++) {
      expect(reports[i].bytes).toBeGreaterThanOrEqual(reports[i - 1].bytes)
      // Bounded rate: apart from the final report, at least ~100 ms between two.
      if (i < reports.length - 1) expect(reports[i].at - reports[i - 1].at).toBeGreaterThanOrEqual(95)
    }
    expect(last.total).toBe(sent)
  }

  test('an abort while sendToFd is still planning: AbortError, nothing written', async () => {
    const out = path.join(fs().dir, 'aborted.stream')
    const fd = openSync(out, 'w')
    try {
      const ac = new AbortController()
      const pending = sendToFd(snap, fd, { signal: ac.signal })
      // Planning (opening and checking the subvolume) is under way: this abort has no job yet.
      ac.abort(new Error('stop'))
      await expect(pending).rejects.toMatchObject({ name: 'AbortError' })
      expect(fstatSync(fd).size).toBe(0)
    } finally {
      closeSync(fd)
    }
  })

  test('send(): onProgress with the estimate as total; bytesSent equals the stream', async () => {
    const reports: Array<SendProgress & { at: number }> = []
    const stream = send(snap, { estimate: true, onProgress: (p) => reports.push({ ...p, at: Date.now() }) })
    // Drained slowly (a pause per chunk): the send lasts long enough for reports with a total.
    const chunks: Buffer[] = []
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer)
      await delay(10)
    }
    const bytes = Buffer.concat(chunks)
    const { bytes: total } = await estimate(snap)
    expect(stream.bytesSent).toBe(bytes.length)
    expect(total).toBe(bytes.length)
    checkReports(reports, bytes.length)
    // The metadata-only estimate of one file ends long before the slowly drained send.
    expect(reports.slice(0, -1).some((r) => r.total === total)).toBe(true)
  })

  test('sendToFd(): onProgress polls the native byte count; final report equals the result', async () => {
    const out = path.join(fs().dir, 'progress.stream')
    const fd = openSync(out, 'w')
    const reports: Array<SendProgress & { at: number }> = []
    try {
      const sent = await sendToFd(snap, fd, { estimate: true, onProgress: (p) => reports.push({ ...p, at: Date.now() }) })
      expect(fstatSync(fd).size).toBe(sent)
      checkReports(reports, sent)
      expect(sent).toBe((await estimate(snap)).bytes)
    } finally {
      closeSync(fd)
    }
  })

  test('onProgress must be a function', () => {
    expect(() => send(snap, { onProgress: 5 as never })).toThrow(/onProgress must be a function/)
  })
})
