/** Persistence figures, as `stats().persistence` shows them. */
export interface PersistenceStats {
  /** Snapshots written since the start. */
  snapshots: number
  /** Snapshot or log writes that failed (a full disk): logged, retried at the next interval. */
  failures: number
  /** How long the last snapshot took, ms. */
  lastSnapshotMs: number
  /** Bytes in the write log (local writes since the last snapshot). */
  logBytes: number
}
