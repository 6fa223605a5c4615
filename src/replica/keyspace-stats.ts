/** Counters of one keyspace, as `Keyspace.stats()` returns them. */
export interface KeyspaceStats {
  /** Name of the keyspace. */
  name: string
  /** Values held (live, or expired and not yet swept); tombstones are counted apart. */
  entries: number
  /** Tombstones held (deletes, tag invalidations, clears). */
  tombstones: number
  /** Bytes held as counted against maxBytes. */
  bytes: number
  /** Reads that found a live value. */
  hits: number
  /** Reads that found none. */
  misses: number
  /** Local writes. */
  sets: number
  /** Local deletes. */
  deletes: number
  /** Entries the LRU dropped to make room (local only). */
  evictions: number
  /** Entries dropped at their expiry. */
  expirations: number
  /** Remote writes applied / ignored as older than what was held. */
  remoteApplied: number
  /** Remote writes ignored as older than what this node knew. */
  remoteStale: number
  /** `load` calls made by `fetch` and `wrap` after a miss. */
  loads: number
  /** `load` calls that threw. */
  loadErrors: number
  /** Tag invalidations and clears written here. */
  invalidations: number
  /** Typical latency of `load` here, ms (EWMA; 0 before the first load). */
  loadLatencyMs: number
}

/** Mutable counters; the hot path only increments. */
export class KeyspaceCounters {
  hits = 0
  misses = 0
  sets = 0
  deletes = 0
  evictions = 0
  expirations = 0
  remoteApplied = 0
  remoteStale = 0
  loads = 0
  loadErrors = 0
  invalidations = 0
  loadLatencyMs = 0
}
