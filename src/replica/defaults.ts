/** Defaults of the replica layer, in one place (the keyspace options' own are in keyspace-options.ts). */
export const REPLICA_DEFAULTS = {
  /** How long expired values stay available to stale-while-revalidate and stale-if-error, ms. */
  staleRetentionMs: 60_000,
  /** Most expired values a keyspace keeps for them. */
  staleMaxEntries: 1_000,
  /** Keys one sweep step examines per keyspace. */
  sweepBudget: 5_000,
  /**
   * CPU time after which a sweep step stops early, ms: dropping and forgetting keys costs
   * more than looking at live ones (and a mass expiry makes every key such a key).
   */
  sweepStepMs: 3,
  /** Time between sweep steps, ms. */
  sweepIntervalMs: 100,
  /** Shortest allowed time between sweep steps, ms. */
  minSweepIntervalMs: 10,
} as const
