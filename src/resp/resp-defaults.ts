/**
 * Defaults and bounds of the RESP listener, in one place (sizes in bytes, times in ms).
 * The protocol bounds are Redis's where Redis has one (inline requests, unauthenticated
 * clients); the others bound memory per client, where Redis leaves it unbounded.
 * @module
 */

import { DEFAULT_KEYSPACE } from '../api/defaults.js'

/** Defaults of {@link RespServerOptions}. */
export const RESP_DEFAULTS = {
  /** Keyspaces of databases 0, 1, ...: the cache's default keyspace alone. */
  keyspaces: [DEFAULT_KEYSPACE] as readonly string[],
  /** Interface to bind: loopback, the listener is for services on the same host. */
  host: '127.0.0.1',
  /** Redis's port. */
  port: 6379,
  /** Most connections at once; past it a new client gets an error and is closed (Redis's `maxclients`). */
  maxClients: 10_000,
  /**
   * Largest bulk string (a key or a value). A value must also fit the keyspace's
   * `maxValueBytes` (1 MiB by default): between the two the command gets an error and the
   * connection stays; past this one the client gets a protocol error and is closed.
   */
  maxBulkBytes: 4 * 1024 * 1024,
  /** Most elements of a request (`MSET` of 500,000 pairs); past it a protocol error and a close. */
  maxArrayLength: 1_048_576,
  /** Largest request in bytes, all its elements together: one request never buffers more. */
  maxRequestBytes: 64 * 1024 * 1024,
  /** Past this much queued output the connection stops reading requests until the client reads. */
  outputPauseBytes: 1024 * 1024,
  /** Past this much queued output the client is sent an error and closed (a reader that never reads). */
  maxOutputBytes: 32 * 1024 * 1024,
  /** Keys examined by one `SCAN` step when `COUNT` is not given (Redis's default). */
  scanCount: 10,
  /** Longest `WAIT` (Redis waits forever on 0; here at most the library's longest ack timeout). */
  maxWaitMs: 300_000,
  /** How long a client told of a protocol error may take to read it before it is cut. */
  closeGraceMs: 2_000,
} as const

/** Bounds of the wire format that Redis fixes and clients rely on: not configurable. */
export const RESP_PROTOCOL = {
  /** Longest inline command and longest `*<n>` / `$<n>` header line (Redis: PROTO_INLINE_MAX_SIZE). */
  maxInlineBytes: 64 * 1024,
  /** Before `AUTH` (with a password set): most elements of a request (Redis's bound). */
  unauthenticatedArrayLength: 10,
  /** Before `AUTH` (with a password set): largest bulk string (Redis's bound). */
  unauthenticatedBulkBytes: 16_384,
  /** Bulk strings at least this long are received into their own buffer (no re-copying). */
  bigBulkBytes: 32 * 1024,
  /** The Redis version this listener answers like (`HELLO`, `INFO`): the command set it follows. */
  redisVersion: '7.2.0',
} as const
