import { mkdirSync } from 'node:fs'
import type { Timer } from '../clock/clock.js'
import { InvalidOptionError } from '../errors.js'
import { logger } from '../log.js'
import { lockDataDir } from '../persist/dir-lock.js'
import { loadSnapshot, type SnapshotLoad, writeSnapshot } from '../persist/snapshot.js'
import { WriteLog } from '../persist/write-log.js'
import type { PersistenceStats } from '../ports/persistence-stats.js'
import type { ReplicaRegistry } from '../replica/replica-registry.js'
import { tupleOf } from '../replication/entry-tuple.js'
import type { Entry } from '../store/entry.js'

const log = logger('meshcache:persist')

/**
 * A snapshot costs CPU in proportion to the entries held (1M: ~4 s of CPU, measured by
 * bench:persist); the next one waits at least this many times as long as the last one
 * took, so snapshots never take more than 1 / 20 = 5% of a core, whatever the size.
 */
const SNAPSHOT_COST_FACTOR = 20

/**
 * A node's replicas in `dataDir`: at start the snapshot, then the log of local writes
 * made since it (so a restart serves nothing older than what this node acknowledged);
 * then a new snapshot every `intervalMs` (or longer, see SNAPSHOT_COST_FACTOR), written
 * incrementally without stalling the event loop; a last one on stop.
 */
export class Persistence {
  private timer: Timer | undefined
  /** `replicas.changes` when the last snapshot started. */
  private savedChanges = -1
  private writes: WriteLog | undefined
  private saving: Promise<void> | undefined
  private stopped = false
  private snapshots = 0
  private failures = 0
  private lastSnapshotMs = 0
  private lastSnapshotCpuMs = 0
  private loaded: SnapshotLoad | undefined

  constructor(
    private readonly replicas: ReplicaRegistry,
    private readonly dataDir: string,
    private readonly intervalMs: number,
    /** This node's clock correction now (saved, so a restart starts from it). */
    private readonly clockCorrection: () => number = () => 0,
  ) {}

  /**
   * Loads the snapshot, replays the write logs through `admitRemote` (with every check a
   * remote entry gets: a damaged file must not poison the clock), and starts logging this
   * node's writes.
   * @returns entries applied, and the clock correction saved with the snapshot, dropped
   *   when larger than the drift bound (nothing read from disk moves the clock further)
   */
  load(region: string): { applied: number; clockCorrectionMs: number } {
    const snapshot = loadSnapshot(this.replicas, this.dataDir, region)
    let applied = snapshot.applied
    const replayed = WriteLog.replay(this.dataDir, (keyspace, tuple) => {
      if (this.replicas.open(keyspace).admitRemote(tuple, region, true) === 'applied') applied++
    })
    this.loaded = { ...snapshot, damagedFrames: snapshot.damagedFrames + replayed.damagedFrames }
    const writes = new WriteLog(this.dataDir)
    this.writes = writes
    this.replicas.journalTo((keyspace: string, key: string, entry: Entry, encoded?: Uint8Array) =>
      writes.append(keyspace, tupleOf(key, entry, encoded)),
    )
    const saved = snapshot.clockCorrectionMs
    const bounded = Math.abs(saved) <= this.replicas.hlc.maxDrift
    if (!bounded) log('saved clock correction of %d ms is beyond maxClockDrift: dropped', saved)
    return { applied, clockCorrectionMs: bounded ? saved : 0 }
  }

  /** Starts the periodic snapshots. */
  start(): void {
    this.schedule()
  }

  /** Stops the periodic snapshots, writes a last one and closes the log. */
  async stop(): Promise<void> {
    this.stopped = true
    this.timer?.cancel()
    await this.saving
    await this.save('final snapshot')
    this.replicas.journalTo(undefined)
    this.writes?.close()
  }

  stats(): PersistenceStats {
    return {
      snapshots: this.snapshots,
      failures: this.failures + (this.writes?.failures ?? 0),
      lastSnapshotMs: Math.round(this.lastSnapshotMs),
      logBytes: this.writes?.bytes ?? 0,
      damagedFrames: this.loaded?.damagedFrames ?? 0,
      ...(this.loaded?.refusedClockAheadMs === undefined
        ? {}
        : { refusedClockAheadMs: this.loaded.refusedClockAheadMs }),
    }
  }

  /**
   * The next snapshot: `intervalMs` (or longer, see SNAPSHOT_COST_FACTOR) after the last,
   * and only once something changed: an idle node does not wake to write the same file.
   */
  private schedule(): void {
    if (this.stopped) return
    if (this.replicas.changes === this.savedChanges) {
      this.replicas.onNextChange(() => this.schedule())
      return
    }
    const wait = Math.max(this.intervalMs, this.lastSnapshotCpuMs * SNAPSHOT_COST_FACTOR)
    this.timer = this.replicas.clock.after(wait, () => {
      this.saving = this.save('snapshot').finally(() => {
        this.saving = undefined
        this.schedule()
      })
    })
  }

  private async save(what: string): Promise<void> {
    const clock = this.replicas.clock
    const started = clock.monotonic()
    const cpu = process.cpuUsage()
    // What this snapshot covers: changes after this point make the next one.
    const changes = this.replicas.changes
    try {
      // Writes from now on go to a new log; the old one goes once the snapshot is safe.
      this.writes?.rotate()
      await writeSnapshot(this.replicas, this.dataDir, this.clockCorrection())
      this.writes?.dropPrevious()
      this.snapshots++
      this.lastSnapshotMs = clock.monotonic() - started
      this.savedChanges = changes
      const used = process.cpuUsage(cpu)
      this.lastSnapshotCpuMs = (used.user + used.system) / 1000
    } catch (err) {
      this.failures++
      log('%s failed: %s', what, (err as Error).message)
    }
  }
}

/**
 * Creates `dataDir` when missing and locks it for this process.
 * @returns the unlock function
 * @throws InvalidOptionError when it cannot be created; DataDirLockedError when another
 *   live process holds it
 */
export function openDataDir(dataDir: string): () => void {
  try {
    mkdirSync(dataDir, { recursive: true })
  } catch (cause) {
    throw new InvalidOptionError(
      `dataDir ${dataDir} cannot be created: ${(cause as Error).message}`,
      { cause },
    )
  }
  return lockDataDir(dataDir)
}
