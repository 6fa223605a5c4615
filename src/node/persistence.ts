import createDebug from 'debug'
import { loadSnapshot, saveSnapshot } from '../persist/snapshot.js'
import { WriteLog } from '../persist/write-log.js'
import type { PersistenceStats } from '../ports/persistence-stats.js'
import type { ReplicaRegistry } from '../replica/replica-registry.js'
import { tupleOf } from '../replication/entry-tuple.js'
import type { Entry } from '../store/entry.js'

const log = createDebug('meshcache:persist')

/**
 * A node's replicas in `dataDir`: at start the snapshot, then the log of local writes
 * made since it (so a restart serves nothing older than what this node acknowledged);
 * every `intervalMs` a new snapshot, which empties the log; a last one on stop.
 */
export class Persistence {
  private timer: NodeJS.Timeout | undefined
  private writes: WriteLog | undefined
  private snapshots = 0
  private failures = 0
  private lastSnapshotMs = 0

  constructor(
    private readonly replicas: ReplicaRegistry,
    private readonly dataDir: string,
    private readonly intervalMs: number,
  ) {}

  /**
   * Loads the snapshot, replays the write log through `admitRemote`, and starts logging
   * this node's writes. @returns entries applied
   */
  load(region: string): number {
    let applied = loadSnapshot(this.replicas, this.dataDir, region)
    WriteLog.replay(this.dataDir, (keyspace, tuple) => {
      if (this.replicas.open(keyspace).admitRemote(tuple, region) === 'applied') applied++
    })
    const writes = new WriteLog(this.dataDir)
    this.writes = writes
    this.replicas.journalTo((keyspace: string, key: string, entry: Entry, encoded?: Uint8Array) =>
      writes.append(keyspace, tupleOf(key, entry, encoded)),
    )
    return applied
  }

  /** Starts the periodic snapshots. */
  start(): void {
    this.timer = setInterval(() => this.save('snapshot'), this.intervalMs)
    this.timer.unref()
  }

  /** Stops the periodic snapshots, writes a last one and closes the log. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
    this.save('final snapshot')
    this.replicas.journalTo(undefined)
    this.writes?.close()
  }

  stats(): PersistenceStats {
    return {
      snapshots: this.snapshots,
      failures: this.failures + (this.writes?.failures ?? 0),
      lastSnapshotMs: this.lastSnapshotMs,
      logBytes: this.writes?.bytes ?? 0,
    }
  }

  private save(what: string): void {
    const started = performance.now()
    try {
      // Everything logged is in the store, so in the snapshot: the log can go.
      this.writes?.flush()
      saveSnapshot(this.replicas, this.dataDir)
      this.writes?.truncate()
      this.snapshots++
      this.lastSnapshotMs = performance.now() - started
    } catch (err) {
      this.failures++
      log('%s failed: %s', what, (err as Error).message)
    }
  }
}
