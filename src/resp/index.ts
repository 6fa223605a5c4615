/**
 * The Redis-protocol (RESP2/RESP3) listener of a headless node: stock Redis clients
 * read and write the node's cache. docs/resp.md.
 * @module
 */
export { RESP_DEFAULTS } from './resp-defaults.js'
export {
  type RespLogger,
  type RespServer,
  type RespServerOptions,
  startRespServer,
} from './resp-server.js'
export type { RespStatsSnapshot } from './resp-stats.js'
