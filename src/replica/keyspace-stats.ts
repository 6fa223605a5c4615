/** Counters of one keyspace, as `Keyspace.stats()` returns them. */
export interface KeyspaceStats {
  name: string
  /** Values held (live, or expired and not yet swept); tombstones are counted apart. */
  entries: number
  /** Tombstones held (deletes, tag invalidations, clears). */
  tombstones: number
  /** Bytes held as counted against maxBytes. */
  bytes: number
  hits: number
  misses: number
  sets: number
  deletes: number
  evictions: number
  expirations: number
  /** Remote writes applied / ignored as older than what was held. */
  remoteApplied: number
  remoteStale: number
  /** `load` calls made by `fetch` and `wrap` after a miss. */
  loads: number
  loadErrors: number
  /** Tag invalidations and clears written here. */
  invalidations: number
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
}
