// jest testResultsProcessor: prints the plain closing line CI reads ('N passed, N failed,
// N skipped'), counting suites that failed to load as failures. With JEST_SUMMARY_FILE set it also
// writes the counts as JSON, so .ci/run can add up several runs.
const fs = require('node:fs')

module.exports = (results) => {
  const passed = results.numPassedTests
  const failed = results.numFailedTests + results.numRuntimeErrorTestSuites
  const skipped = results.numPendingTests + results.numTodoTests
  process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`)
  if (process.env.JEST_SUMMARY_FILE) {
    fs.writeFileSync(process.env.JEST_SUMMARY_FILE, JSON.stringify({ passed, failed, skipped }))
  }
  return results
}
