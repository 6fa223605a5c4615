/**
 * The Node.js version the `meshcache` command needs, checked before anything else loads:
 * on an older Node the library fails deep inside libp2p (`Promise.withResolvers is not a
 * function`, reported as a bad option, exit 2; issue 22). This file imports nothing, so
 * it runs on any Node.
 * @module
 */

/** Oldest Node.js major version meshcache runs on (package.json `engines`). */
export const MIN_NODE_MAJOR = 22

/**
 * The one line to print when `version` (as in `process.versions.node`) is too old;
 * undefined when it is recent enough.
 */
export function nodeVersionProblem(version: string): string | undefined {
  const major = Number(version.split('.')[0])
  if (Number.isInteger(major) && major >= MIN_NODE_MAJOR) return undefined
  return `meshcache needs Node.js >= ${MIN_NODE_MAJOR}, this is v${version}`
}
