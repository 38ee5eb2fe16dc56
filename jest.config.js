// jest: TypeScript through @swc/jest; lib/ imports use '.js' specifiers (nodenext), mapped back
// to the .ts sources. The summary processor prints the plain 'N passed, N failed' line last.
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testResultsProcessor: '<rootDir>/test/support/summary.js',
  testTimeout: 120000,
  maxWorkers: 2,
}
