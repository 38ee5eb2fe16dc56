// The README stays true to the code: it lists every error code of the registry, and its
// quick-start commands are the ones package.json and scripts/ provide.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { ERROR_CODES, WARNING_CODES } from '../../lib/index.js'

const root = path.resolve(__dirname, '../..')
const readme = readFileSync(path.join(root, 'README.md'), 'utf8')

test.each(Object.keys(ERROR_CODES))('README lists error code %s', (code) => {
  expect(readme).toMatch(new RegExp(`\\| \`${code}\` \\|`))
})

test.each(Object.keys(WARNING_CODES))('README lists warning code %s', (code) => {
  expect(readme).toMatch(new RegExp(`\\| \`${code}\` \\|`))
})

test('the quick start names scripts that exist', () => {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'))
  expect(readme).toContain('bash scripts/setup.sh && npm run demo')
  expect(readme).toContain('npm test')
  expect(pkg.scripts.demo).toBe('node scripts/demo.js')
  expect(readFileSync(path.join(root, 'scripts/setup.sh'), 'utf8')).toContain('npm ci')
})
