/**
 * What the sidecar's edges (`src/http`, `src/resp`) share: credentials checked in
 * constant time and the loopback rule for listen addresses. No policy of the cache lives
 * here.
 * @module
 */
export { isLoopbackHost } from './bind-address.js'
export { CredentialSet, readCredentialFile } from './credentials.js'
