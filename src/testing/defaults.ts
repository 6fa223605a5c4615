/**
 * Defaults of `meshcache/testing`, in one place; times in ms. The mesh timers are
 * shorter than a production node's so that a test sees a heal, a redial or a clock
 * correction in about a second instead of several.
 */
export const TESTING_DEFAULTS = {
  /** One-way latency between two regions, ms. */
  oneWayMs: 20,
  /** One-way latency between two nodes of one region, ms. */
  localMs: 0,
  /** Uniform extra delay on every link, ms (0: runs are repeatable). */
  jitterMs: 0,
  /**
   * Longest wait for every node to be connected to every other, ms: this, or
   * `startTimeoutPerNodeMs` per node when more (all nodes share one thread: 11 nodes took
   * ~19 s to form on a busy 2-core machine).
   */
  startTimeoutMs: 10_000,
  /** See `startTimeoutMs`, ms. */
  startTimeoutPerNodeMs: 2_000,
  /** Longest wait of `converged()` and of `heal()` for the links to come back, ms. */
  settleTimeoutMs: 10_000,
  /** What close() waits for libp2p's last debounced events (1 ms) and sockets to go, ms. */
  closeSettleMs: 5,
  /** Poll period of those waits, ms. */
  pollMs: 10,
  /** Most nodes per region: each listens on its own 127.0.R.N, N from 1 to this. */
  maxNodesPerRegion: 250,
  /** Most regions: region R listens on 127.0.R.x, and 127.0.254.1 holds the proxies. */
  maxRegions: 250,
  /** Mesh timers of test nodes (a user's `cacheOptions.mesh` overrides each). */
  mesh: {
    /** Anti-entropy with one peer every second: a heal converges within about a second. */
    syncIntervalMs: 1_000,
    /** RTT and clock offsets measured every second: a skewed clock is corrected in ~1 s. */
    pingIntervalMs: 1_000,
    /** A dropped link is redialled within half a second of the heal. */
    redialIntervalMs: 500,
  },
} as const
