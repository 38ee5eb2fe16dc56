// Addon stress: thousands of sends (Readable and sendToFd) and syscall queues are created and
// destroyed while the process's open fds and RSS stay flat. A leaked pipe end, job, thread or
// queue slot shows up as fds or memory growing with the iteration count.
import { closeSync, openSync, readdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { send, sendToFd } from '../../lib/send/index'
import { nativePath } from '../../lib/native'
import { describeBtrfs, sh } from '../support/btrfs'
import { pwriteRecord } from './queue-records'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const openFds = (): number => readdirSync('/proc/self/fd').length
const rssMiB = (): number => process.memoryUsage.rss() / 2 ** 20

async function drain(stream: NodeJS.ReadableStream): Promise<number> {
  let n = 0
  for await (const chunk of stream) n += (chunk as Buffer).length
  return n
}

describeBtrfs('addon stress: fds and memory stay flat', { size: '256M' }, (fs) => {
  test('1500 sends, 1500 sendToFd and 3000 queues', async () => {
    const src = path.join(fs().mnt, 'src')
    sh('btrfs', ['subvolume', 'create', src])
    for (let i = 0; i < 20; i++) writeFileSync(path.join(src, `f${i}`), `file ${i}\n`.repeat(100))
    const snap = path.join(fs().mnt, 'snap')
    sh('btrfs', ['subvolume', 'snapshot', '-r', src, snap])
    const devNull = openSync('/dev/null', 'w')
    const { OpQueue } = require(nativePath() as string) as BtrfsNative.Addon
    const file = openSync(path.join(fs().mnt, 'queue-target'), 'w')
    const payload = Buffer.alloc(4096, 1)

    const round = async (count: number): Promise<number> => {
      let bytes = 0
      for (let i = 0; i < count; i++) {
        bytes += await drain(send(snap))
        bytes += await sendToFd(snap, devNull)
        const q = new OpQueue()
        const records = Buffer.concat([pwriteRecord(1, file, 0, 0), pwriteRecord(2, file, 0, 4096)])
        q.submit(records, records.length, [payload])
        expect(q.wait()).toBeUndefined()
        q.close()
        new OpQueue().close()
      }
      return bytes
    }
    try {
      const warm = await round(100)
      expect(warm).toBeGreaterThan(0)
      gc()
      const fds0 = openFds()
      const rss0 = rssMiB()
      const bytes = await round(1500)
      gc()
      await new Promise((resolve) => setTimeout(resolve, 100))
      gc()
      // Each send is the same stream: the count proves every iteration really ran.
      expect(bytes).toBe(warm * 15)
      expect(openFds()).toBe(fds0)
      expect(rssMiB() - rss0).toBeLessThan(64)
    } finally {
      closeSync(devNull)
      closeSync(file)
    }
  }, 300_000)
})
