// The CLI's entry for tests: main() of lib/cli/main.ts with this process's arguments.
import { main } from '../../../lib/cli/main.js'

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    process.stderr.write(`ERROR: ${String(err)}\n`)
    process.exitCode = 1
  },
)
