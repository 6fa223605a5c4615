// Prints the plain closing line CI reads ("tests: N passed, N failed, N skipped") from
// vitest's JSON report, and exits non-zero when anything failed.
import { readFileSync } from 'node:fs'

const r = JSON.parse(readFileSync('.vitest-results.json', 'utf8'))
const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0)
console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`)
process.exit(r.numFailedTests === 0 && r.success !== false ? 0 : 1)
