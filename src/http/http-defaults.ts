/**
 * Defaults and bounds of the HTTP API, in one place (times in ms, sizes in bytes).
 * @module
 */

/** Defaults of {@link HttpApiOptions} and of the server's timeouts. */
export const HTTP_DEFAULTS = {
  /** Interface to bind: loopback, the API is for services on the same host. */
  host: '127.0.0.1',
  /** Port to bind. */
  port: 8080,
  /** Largest request body; larger ones get 413 before they are read. */
  maxBodyBytes: 1_100_000,
  /** Most keyspaces HTTP clients may open. */
  maxKeyspaces: 64,
  /** Longest time to receive a request's headers (slow clients are cut). */
  headersTimeoutMs: 10_000,
  /** Longest time to receive a whole request, headers and body. */
  requestTimeoutMs: 30_000,
  /** Idle keep-alive connections are closed after this long (above common proxies' 60 s). */
  keepAliveTimeoutMs: 72_000,
  /** How often the server looks for requests past their timeouts. */
  connectionsCheckingIntervalMs: 1_000,
  /** Most keys of one `:mget` or entries of one `:mset`. */
  maxBulkKeys: 1_000,
  /**
   * After a 413, at least this many body bytes are read and discarded before the
   * connection is closed (lingering close), or `lingerBodyMultiple` x `maxBodyBytes`
   * when that is more.
   */
  lingerMinBytes: 64 * 1024 * 1024,
  /** See `lingerMinBytes`. */
  lingerBodyMultiple: 4,
  /** After a 413, the connection is closed at the latest this long after the refusal. */
  lingerMs: 10_000,
  /**
   * After a request the HTTP parser refused (431, 400, 501), the connection is closed at
   * the latest this long after the answer (what the client still sends is discarded).
   */
  clientErrorLingerMs: 1_000,
} as const

/** The lingering bound in bytes for a body limit: 64 MiB, or 4 x the limit when larger. */
export function lingerBytesFor(maxBodyBytes: number): number {
  return Math.max(HTTP_DEFAULTS.lingerMinBytes, HTTP_DEFAULTS.lingerBodyMultiple * maxBodyBytes)
}

/** Upper bounds of duration parameters (a larger value is answered 400 `ERR_INVALID_OPTION`). */
export const HTTP_LIMITS = {
  /** `ackTimeout`: the library refuses more than 5 minutes as well. */
  maxAckTimeoutMs: 300_000,
  /** `lease_ttl`. */
  maxLeaseTtlMs: 300_000,
  /** `wait` of a lease request. */
  maxWaitMs: 60_000,
  /** `stale_while_revalidate` and `stale_if_error` (expired values are kept one minute). */
  maxStaleMs: 60_000,
} as const

/** Defaults of load leases (`GET ...?lease=1`). */
export const LEASE_DEFAULTS = {
  /** How long a lease holder has to PUT the value (`lease_ttl`). */
  leaseTtlMs: 5_000,
  /** How long other callers wait for the holder's value (`wait`). */
  waitMs: 2_000,
  /** Most leases held at once per node; past it, misses get no lease (and no wait). */
  maxLeases: 100_000,
  /**
   * Most bytes the held leases take per node (keys at 2 bytes per character, plus 128
   * each); past it, misses get no lease. 100,000 leases of ~100-character keys fit; of
   * 1,024-character keys about 15,000.
   */
  maxLeaseBytes: 32 * 1024 * 1024,
  /** Most requests waiting for a lease holder at once; past it, they get 404 at once. */
  maxWaiters: 10_000,
} as const
