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
  /**
   * Snapshot and write-log frames found torn or failing their checksum at the start
   * (skipped; the intact frames after them, and a torn snapshot frame's whole rows, kept).
   */
  damagedFrames: number
  /**
   * Set when the snapshot's saved clock was further ahead of this host than
   * `maxClockDrift` at the start, and therefore not resumed: by how much, ms.
   */
  refusedClockAheadMs?: number
}
