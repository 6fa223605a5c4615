import type { Clock, Timer } from '../clock/clock.js'
import type { HybridClock } from '../clock/hlc.js'
import { InvalidOptionError } from '../errors.js'
import { tupleOf } from '../replication/entry-tuple.js'
import { type RejectCode, type RejectCounts, rejectCounts } from '../replication/reject-codes.js'
import { REPLICA_DEFAULTS } from './defaults.js'
import {
  checkKeyspaceName,
  type KeyspaceOptions,
  type ResolvedKeyspaceOptions,
  resolveKeyspaceOptions,
} from './keyspace-options.js'
import { KeyspaceReplica, type ReplicaContext, type ReplicaListener } from './keyspace-replica.js'

/** What a {@link ReplicaRegistry} is built from. */
export interface ReplicaRegistryInit {
  /** Stamps this node's writes. */
  readonly hlc: HybridClock
  /** The node's one clock. */
  readonly clock: Clock
  /** Keyspace options every keyspace inherits (validated by the caller). */
  readonly defaults: KeyspaceOptions
  /**
   * In a mesh, the longest key and largest value its peers take (`mesh.limits`): a
   * keyspace may not allow more, or its writes would be refused by every peer, with the
   * other writes of their batch. Undefined without a mesh.
   */
  readonly wireLimits?: { readonly maxKeyLength: number; readonly maxValueBytes: number }
}

/**
 * The keyspace replicas of one node, by name: what the API, the mesh and persistence
 * share. Opening a keyspace (from the API, from a peer's subscription, from a snapshot)
 * tells every `onOpen` listener, so the mesh subscribes to its topic. Also holds the
 * node-wide admission policy (allowlist) and the counts of refused entries.
 */
export class ReplicaRegistry implements Iterable<KeyspaceReplica<unknown>> {
  readonly hlc: HybridClock
  readonly clock: Clock
  /** Writes (local or remote) that changed a replica since the start. */
  changes = 0
  private nextChange: (() => void) | undefined
  /** Entries refused by {@link KeyspaceReplica.admitRemote}, by reason. */
  readonly rejected: RejectCounts = rejectCounts()
  private readonly defaults: KeyspaceOptions
  private readonly wireLimits: ReplicaRegistryInit['wireLimits']
  private readonly replicas = new Map<string, KeyspaceReplica<unknown>>()
  /** Keyspaces opened with options of their own (not only from a snapshot or a peer). */
  private readonly explicit = new Set<string>()
  private readonly openListeners: ((replica: KeyspaceReplica<unknown>) => void)[] = []
  private readonly ctx: ReplicaContext & {
    listener: ReplicaListener | undefined
    journal: ReplicaContext['journal']
  }
  private admission: (node: string) => boolean = () => true
  private sweep:
    | {
        minIntervalMs: number
        onError: (err: unknown) => void
        timer: Timer | undefined
        /** Wall-clock ms of the scheduled wake-up. */
        wakeAt: number
        /** Monotonic ms of the last step. */
        lastStep: number
      }
    | undefined

  constructor(init: ReplicaRegistryInit) {
    this.hlc = init.hlc
    this.clock = init.clock
    this.defaults = init.defaults
    this.wireLimits = init.wireLimits
    this.ctx = {
      hlc: init.hlc,
      clock: init.clock,
      admits: (node) => this.admission(node),
      reject: (code) => this.reject(code),
      changed: () => {
        this.changes++
        const next = this.nextChange
        if (next !== undefined) {
          this.nextChange = undefined
          next()
        }
      },
      listener: undefined,
      journal: undefined,
    }
  }

  /** Wall-clock ms, corrected to the mesh. */
  now(): number {
    return this.clock.now()
  }

  /** Calls `fn` once, at the next write that changes a replica (persistence sleeps until then). */
  onNextChange(fn: () => void): void {
    this.nextChange = fn
  }

  /** Sets who hears about changes, expiries and evictions (the API's events). */
  listen(listener: ReplicaListener): void {
    this.ctx.listener = listener
  }

  /** Sets who is told of every local write (persistence's write log). */
  journalTo(journal: ReplicaContext['journal']): void {
    this.ctx.journal = journal
  }

  /** Sets the admission policy: writes by nodes it refuses are counted `not-allowed`. */
  admitOnly(admits: (node: string) => boolean): void {
    this.admission = admits
  }

  /** Whether writes by `node` are admitted. */
  admits(node: string): boolean {
    return this.admission(node)
  }

  /** Counts a refused input (also for refusals made before an entry reaches a replica). */
  reject(code: RejectCode): void {
    this.rejected[code]++
  }

  /** Calls `listener` for every keyspace opened from now on. */
  onOpen(listener: (replica: KeyspaceReplica<unknown>) => void): void {
    this.openListeners.push(listener)
  }

  /**
   * Opens (or returns the open) keyspace `name`.
   * @param byApi - opened for the API (a facade will hold this replica): its options are
   *   then fixed, defaults included, and a later open with other options is refused; a
   *   keyspace opened otherwise (a snapshot, the write log, a peer's topic) is rebuilt with
   *   the options the application names first. A replica behind a facade is never
   *   rebuilt: writes through the facade would go to a replica nothing else reads.
   * @throws InvalidOptionError for a bad name or options, or when `name` is open with
   *   different options
   */
  open<V = unknown>(name: string, options?: KeyspaceOptions, byApi = false): KeyspaceReplica<V> {
    checkKeyspaceName(name)
    const resolved = resolveKeyspaceOptions(options, this.defaults)
    checkWireLimits(name, resolved, this.wireLimits)
    const existing = this.replicas.get(name)
    if (existing !== undefined) {
      if (options === undefined || sameOptions(existing.options, resolved)) {
        if (options !== undefined || byApi) this.explicit.add(name)
        return existing as KeyspaceReplica<V>
      }
      if (this.explicit.has(name)) {
        throw new InvalidOptionError(
          `keyspace '${name}' is already open with different options; name a keyspace's options at its first open (the default keyspace's in createCache)`,
        )
      }
      // Opened implicitly (a snapshot, the write log, a peer's topic) before the
      // application named its options: rebuilt with them, its entries moved over.
      this.explicit.add(name)
      const rebuilt = new KeyspaceReplica<unknown>(name, resolved, this.ctx)
      if (this.sweep !== undefined) this.watchDue(rebuilt)
      adopt(rebuilt, existing, this.now())
      this.replicas.set(name, rebuilt)
      for (const fn of this.openListeners) fn(rebuilt)
      return rebuilt as KeyspaceReplica<V>
    }
    if (options !== undefined || byApi) this.explicit.add(name)
    const replica = new KeyspaceReplica<unknown>(name, resolved, this.ctx)
    this.replicas.set(name, replica)
    if (this.sweep !== undefined) this.watchDue(replica)
    for (const fn of this.openListeners) fn(replica)
    return replica as KeyspaceReplica<V>
  }

  /**
   * Opens keyspace `name` with options saved in a snapshot, as a keyspace opened
   * implicitly: the application's first open with other options rebuilds it with those.
   * Nothing happens when it is open already.
   * @throws InvalidOptionError for a bad name or options
   */
  restore(name: string, options: KeyspaceOptions): void {
    if (this.replicas.has(name)) return
    checkKeyspaceName(name)
    const resolved = resolveKeyspaceOptions(options, this.defaults)
    checkWireLimits(name, resolved, this.wireLimits)
    const replica = new KeyspaceReplica<unknown>(name, resolved, this.ctx)
    this.replicas.set(name, replica)
    if (this.sweep !== undefined) this.watchDue(replica)
    for (const fn of this.openListeners) fn(replica)
  }

  /** The options a keyspace opened without its own gets (the cache-wide defaults), resolved. */
  defaultOptions(): Readonly<ResolvedKeyspaceOptions> {
    return resolveKeyspaceOptions(undefined, this.defaults)
  }

  get<V = unknown>(name: string): KeyspaceReplica<V> | undefined {
    return this.replicas.get(name) as KeyspaceReplica<V> | undefined
  }

  has(name: string): boolean {
    return this.replicas.has(name)
  }

  /** Names of the open keyspaces. */
  names(): string[] {
    return [...this.replicas.keys()]
  }

  get size(): number {
    return this.replicas.size
  }

  [Symbol.iterator](): Iterator<KeyspaceReplica<unknown>> {
    return this.replicas.values()
  }

  /**
   * Starts the background sweep. It sleeps until something is due (the earliest expiry
   * or end of a version's retention over every keyspace: an empty or idle cache never
   * wakes), then runs steps of up to `REPLICA_DEFAULTS.sweepBudget` keys per keyspace, at
   * most one every `minIntervalMs`, until the pass is over. A failing step is contained
   * (it must never end the host process) and retried at the next wake-up.
   * @param onError - told of a failed step
   */
  startSweep(minIntervalMs: number, onError: (err: unknown) => void = () => {}): void {
    if (this.sweep !== undefined) return
    this.sweep = {
      minIntervalMs,
      onError,
      timer: undefined,
      wakeAt: Number.POSITIVE_INFINITY,
      lastStep: Number.NEGATIVE_INFINITY,
    }
    for (const replica of this.replicas.values()) this.watchDue(replica)
    this.scheduleSweep()
  }

  stopSweep(): void {
    this.sweep?.timer?.cancel()
    this.sweep = undefined
  }

  /** Wall-clock ms of the next sweep wake-up (infinite when nothing is due). */
  get nextSweepAt(): number {
    return this.sweep?.wakeAt ?? Number.POSITIVE_INFINITY
  }

  private watchDue(replica: KeyspaceReplica<unknown>): void {
    replica.table.onEarlierDue = (at) => {
      if (this.sweep !== undefined && at < this.sweep.wakeAt) this.scheduleSweep()
    }
  }

  /** Sets the one wake-up: at the earliest due, no sooner than `minIntervalMs` after the last step. */
  private scheduleSweep(): void {
    const sweep = this.sweep
    if (sweep === undefined) return
    sweep.timer?.cancel()
    sweep.timer = undefined
    let due = Number.POSITIVE_INFINITY
    for (const replica of this.replicas.values()) {
      const t = replica.table
      due = Math.min(due, t.sweeping ? Number.NEGATIVE_INFINITY : t.dueAt)
    }
    if (due === Number.POSITIVE_INFINITY) {
      sweep.wakeAt = due
      return
    }
    const now = this.clock.now()
    const paced = sweep.lastStep + sweep.minIntervalMs - this.clock.monotonic()
    const delay = Math.max(0, due - now, paced)
    sweep.wakeAt = now + delay
    sweep.timer = this.clock.after(delay, () => this.sweepNow())
  }

  private sweepNow(): void {
    const sweep = this.sweep
    if (sweep === undefined) return
    sweep.timer = undefined
    sweep.wakeAt = Number.POSITIVE_INFINITY
    sweep.lastStep = this.clock.monotonic()
    const now = this.now()
    for (const replica of this.replicas.values()) {
      if (!replica.table.sweeping && replica.table.dueAt > now) continue
      try {
        sweepStep(replica, now, this.clock)
      } catch (err) {
        sweep.onError(err)
      }
    }
    this.scheduleSweep()
  }
}

/**
 * One background sweep step of `replica`: up to `REPLICA_DEFAULTS.sweepBudget` keys or
 * `sweepStepMs` of CPU, whichever comes first. @returns keys examined
 */
export function sweepStep(
  replica: KeyspaceReplica<unknown>,
  now: number,
  clock: Pick<Clock, 'monotonic'>,
): number {
  const end = clock.monotonic() + REPLICA_DEFAULTS.sweepStepMs
  return replica.sweepStep(REPLICA_DEFAULTS.sweepBudget, now, () => clock.monotonic() > end)
}

/**
 * Moves every entry, version and invalidation of `old` (a keyspace opened with other
 * options) into `fresh`, through `fresh`'s own admission (as this node's own data).
 */
function adopt(fresh: KeyspaceReplica<unknown>, old: KeyspaceReplica<unknown>, now: number): void {
  for (const [key, indexed] of old.index.iterate()) {
    fresh.admitRemote(old.exportEntry(key, indexed, now), 'local', true)
  }
  for (const [key, entry] of old.store.entries()) {
    if (fresh.index.get(key) === undefined) fresh.admitRemote(tupleOf(key, entry), 'local', true)
  }
  Object.assign(fresh.counters, old.counters)
}

/**
 * Refuses keyspace limits above what the mesh's peers take.
 * @throws InvalidOptionError
 */
export function checkWireLimits(
  name: string,
  o: Readonly<ResolvedKeyspaceOptions>,
  wire: ReplicaRegistryInit['wireLimits'],
): void {
  if (wire === undefined) return
  for (const k of ['maxKeyLength', 'maxValueBytes'] as const) {
    if (o[k] > wire[k]) {
      throw new InvalidOptionError(
        `keyspace '${name}': ${k} ${o[k]} is over what the mesh carries (mesh.limits.${k}, ${wire[k]}): peers would refuse such writes; lower ${k} or raise mesh.limits.${k} on every node`,
      )
    }
  }
}

function sameOptions(a: Readonly<ResolvedKeyspaceOptions>, b: ResolvedKeyspaceOptions): boolean {
  return (Object.keys(b) as (keyof ResolvedKeyspaceOptions)[]).every((k) => a[k] === b[k])
}
