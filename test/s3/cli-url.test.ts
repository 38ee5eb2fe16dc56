// s3:// arguments on the command line: what is accepted, and the usage errors for what is not
// (exit code 1, `ERROR: …`, before any request is made).
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { parseS3Url } from '../../lib/cli/s3-url.js'

const CLI = path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js')

test('parseS3Url splits bucket and key; a key URL must name an object', () => {
  expect(parseS3Url('s3://backups/host1/2024-06-01.btrfs', 'key')).toEqual({ bucket: 'backups', key: 'host1/2024-06-01.btrfs' })
  expect(parseS3Url('s3://backups/host1/', 'prefix')).toEqual({ bucket: 'backups', key: 'host1/' })
  expect(parseS3Url('s3://backups', 'prefix')).toEqual({ bucket: 'backups', key: '' })
  expect(() => parseS3Url('s3://backups/host1/', 'key')).toThrow(/names no object/)
  expect(() => parseS3Url('s3://b/k', 'key')).toThrow(/not an s3:\/\/BUCKET\/KEY URL/)
  expect(() => parseS3Url('http://backups/k', 'key')).toThrow(/not an s3:\/\/BUCKET\/KEY URL/)
})

test.each([
  [['restore', 's3://backups/host1/'], /missing s3:\/\/BUCKET\/PREFIX\/ or DEST/],
  [['restore', '--bogus', 's3://backups/host1/', '/tmp'], /unrecognized option '--bogus'/],
  [['restore', 's3://x/', '/tmp'], /not an s3:\/\/BUCKET\/PREFIX URL/],
  [['receive', '-f', 's3://backups/', '/tmp'], /names no object/],
  [['send', '-f', 's3://backups/dir/', '/tmp'], /names no object/],
])('btrfs-stream %j fails with a usage error', (args, message) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, AWS_REGION: 'us-east-1', NODE_NO_WARNINGS: '1' } })
  expect(r.status).toBe(1)
  expect(r.stderr).toMatch(message)
  expect(r.stderr).toMatch(/^ERROR: /)
})
