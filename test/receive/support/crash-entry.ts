// A receive the crash test kills with SIGKILL: prints READY once half of the input was applied.
import { createReadStream, statSync } from 'node:fs'
import { receive } from '../../../lib/index.js'

const [file, dest] = process.argv.slice(2)
const size = statSync(file).size
let told = false
receive(createReadStream(file), dest, {
  progressInterval: 0,
  onProgress: (p) => {
    if (!told && p.bytes > size / 2) {
      told = true
      process.stdout.write('READY\n')
    }
  },
}).then(() => process.stdout.write('DONE\n'))
