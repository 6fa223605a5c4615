/** Defaults of the API layer, in one place; times in ms. */
export const API_DEFAULTS = {
  /** Longest wait for `ack: 'peer' | 'quorum'`. */
  ackTimeoutMs: 5_000,
  /** Largest `ackTimeout` a call may ask for (longer waits are a mistake, not a need). */
  maxAckTimeoutMs: 300_000,
  /** Longest wait for `consistency: 'quorum'` or `atLeast`. */
  readTimeoutMs: 2_000,
  /** Longest wait of `waitForPeers`. */
  waitForPeersTimeoutMs: 10_000,
  /** Poll period of `waitForPeers` and `atLeast` reads. */
  pollMs: 20,
  /** Longest stale window of `staleWhileRevalidate` / `staleIfError`. */
  maxStaleMs: 60_000,
} as const

/** Name of the keyspace behind `cache.get/set/...`. */
export const DEFAULT_KEYSPACE = 'default'
