#!/usr/bin/env node
/**
 * Entry point of the `meshcache` command: checks the Node.js version first (one line,
 * exit 1, before any other module is loaded), then runs the command line (program.ts).
 * @module
 */
import { nodeVersionProblem } from './node-version.js'

const problem = nodeVersionProblem(process.versions.node)
if (problem !== undefined) {
  process.stderr.write(`${problem}\n`)
  // EXIT_CODES.runtime: failures.ts is not loaded here, it imports the library.
  process.exit(1)
}
await import('./program.js')
