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
  /**
   * Most elements of a request; past it a protocol error and a close.
   * `maxRequestBytes` / `RESP_COSTS.elementBytes`: both bounds meet on a request of empty
   * strings. Real requests meet `maxRequestBytes` first: about 450k 20-byte keys in an
   * `MGET`, 180k pairs of 16-byte keys and 100-byte values in an `MSET`.
   */
  maxArrayLength: 524_288,
  /**
   * Largest request, all its elements together, each counted as its bytes plus
   * `RESP_COSTS.elementBytes`: one request never holds more memory.
   */
  maxRequestBytes: 64 * 1024 * 1024,
  /**
   * Most memory held by partly received requests of all connections together (counted as
   * `maxRequestBytes` counts); past it the client holding the most is closed. Four
   * requests of `maxRequestBytes` at once.
   */
  maxPartialRequestBytes: 256 * 1024 * 1024,
  /**
   * Past this much input received behind a command that has not answered yet (`WAIT`, a
   * write waiting for its ack), the connection stops reading until it answers: a client
   * pipelining behind a 5-minute `WAIT` is held back by TCP, not buffered without bound.
   */
  inputPauseBytes: 64 * 1024,
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

/** What received data costs in memory, measured (Node 20, 64-bit): not configurable. */
export const RESP_COSTS = {
  /**
   * One element of a request while it is held, beyond its bytes: a Buffer view and its
   * array slot (105-108 bytes of heap measured, `$0` to `$100` elements), and its `$n`
   * header and CRLF in the received chunk it keeps alive.
   */
  elementBytes: 128,
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
