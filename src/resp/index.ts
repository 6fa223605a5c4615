/**
 * The Redis-protocol (RESP2/RESP3) listener of a headless node: stock Redis clients
 * read and write the node's cache. docs/resp.md.
 * @module
 */
export { type RespServer, type RespServerOptions, startRespServer } from './resp-server.js'
