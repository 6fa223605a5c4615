import type { EntryTableOptions, VersionObserver } from './entry-table-contract.js'
import { ResidentEntries } from './resident-entries.js'
import { FIRST_SLOT, GHOSTS, RESIDENT } from './slot-columns.js'

/**
 * How long an entry table knows a key's version once its entry left residency: at most
 * `maxKeys` keys (past the bound, the key that left residency first is forgotten) and
 * until `retainMs` after the version's stamp, once nothing it shadows can live. The
 * incremental sweep that forgets versions past retention (and drops expired values on
 * the way) is here, with the lower bound of what is due next ({@link dueAt}) that lets
 * it sleep. A forgotten key retires in the key map (`slot-columns.ts`).
 */
export class VersionRetention<V> extends ResidentEntries<V> {
  readonly maxKeys: number
  readonly retainMs: number
  /** True once the bound made the table forget a version. */
  overflowed = false
  /**
   * No slot has anything due (a value to expire, a version to forget) before this
   * wall-clock ms: a lower bound, exact after a sweep pass. The sweep sleeps until then.
   */
  dueAt = Number.POSITIVE_INFINITY
  /** Told when a write makes {@link dueAt} earlier (the sweep reschedules its wake-up). */
  onEarlierDue: ((dueAt: number) => void) | undefined
  /** Told of every version change: set once, by the index over it ({@link observeVersions}). */
  protected versions: VersionObserver | undefined
  /** Where the sweep resumes. */
  protected cursor = FIRST_SLOT
  /** Earliest due among slots the current pass kept, and among writes since it began. */
  private passDue = Number.POSITIVE_INFINITY

  /** @param options - already checked (`checkedTableOptions`) */
  constructor(options: EntryTableOptions) {
    const maxKeys = Math.max(options.maxKeys, options.maxEntries)
    super(options.maxEntries, options.maxBytes, maxKeys)
    this.maxKeys = maxKeys
    this.retainMs = options.retainMs
  }

  /**
   * Sets who hears every version change: the index over the table, once.
   * @throws Error when an observer is already set
   */
  observeVersions(observer: VersionObserver): void {
    if (this.versions !== undefined) throw new Error('version observer already set')
    this.versions = observer
  }

  /** Keys whose version is known, resident or not. */
  get keyCount(): number {
    return this.slots.size - this.retired
  }

  /** Forgets `key` entirely: entry and version. @returns true when it was known */
  forget(key: string): boolean {
    const s = this.slotOf(key)
    if (s < 0) return false
    this.forgetSlot(s)
    return true
  }

  /** True while a sweep pass is under way (it resumes at the next step). */
  get sweeping(): boolean {
    return this.cursor !== FIRST_SLOT
  }

  /** True while the version in `slot` is within its retention (stamp + retainMs) at `now`. */
  retained(slot: number, now: number): boolean {
    return this.wallOf(slot) + this.retainMs > now
  }

  /**
   * One step of the incremental sweep: visits up to `budget` keys in slot order, drops
   * values that expired at `now` and forgets versions past their retention (once nothing
   * they shadow can live), and resumes there next time.
   * @param overTime - asked every 64 keys; the step ends early when it answers true
   * @returns keys visited, and whether the pass ended
   */
  sweep(budget: number, now: number, overTime?: () => boolean): [visited: number, done: boolean] {
    let n = 0
    let s = this.cursor
    // Free slots cost a visit too, bounded so a sparse table cannot stall a step.
    const limit = s + 4 * budget
    while (n < budget && s < this.end && s < limit) {
      const f = this.flags[s]!
      if (f !== 0) {
        n++
        this.sweepSlot(s, f, now)
        if ((n & 63) === 0 && overTime?.()) {
          s++
          break
        }
      }
      s++
    }
    const done = s >= this.end
    this.cursor = done ? FIRST_SLOT : s
    if (done) {
      // Every slot was seen: the earliest due of what stays is now exact.
      this.dueAt = this.passDue
      this.passDue = Number.POSITIVE_INFINITY
    }
    return [n, done]
  }

  /** Drops every expired value and forgets every version past retention. @returns values dropped */
  purge(now: number): number {
    let dropped = 0
    for (let s = FIRST_SLOT; s < this.end; s++) {
      const f = this.flags[s]!
      if (f !== 0 && this.sweepSlot(s, f, now)) dropped++
    }
    // A whole pass: the due bound is exact, and an incremental pass starts over.
    this.dueAt = this.passDue
    this.passDue = Number.POSITIVE_INFINITY
    this.cursor = FIRST_SLOT
    return dropped
  }

  /**
   * Slot `s` has something due at `at`: lowers the table's bound (telling the sweep when
   * earlier) and, for a slot the current pass already visited, the pass's own.
   */
  protected due(at: number, s: number): void {
    if (s < this.cursor && at < this.passDue) this.passDue = at
    if (at < this.dueAt) {
      this.dueAt = at
      this.onEarlierDue?.(at)
    }
  }

  /** Forgets the key that left residency first (or, when all are resident, evicts one). */
  protected makeRoom(): void {
    if (this.links[2 * GHOSTS + 1] === GHOSTS) this.evict()
    this.overflowed = true
    this.forgetSlot(this.links[2 * GHOSTS + 1]!)
  }

  /** Forgets the key of `s`: no map delete (the key retires; see `SlotColumns`). */
  protected forgetSlot(s: number): void {
    this.dropValue(s)
    this.versions?.versionForgetting(this.keys[s]!, s)
    this.unlink(s)
    this.release(s)
  }

  /** Expired value or tombstone out; retention over and nothing live: forgotten. */
  private sweepSlot(s: number, f: number, now: number): boolean {
    const expired = this.expiryOf(s) <= now
    let dropped = false
    if (expired && (f & RESIDENT) !== 0) {
      this.expire(s)
      dropped = true
    }
    const forgetAt = this.wallOf(s) + this.retainMs
    if (expired && forgetAt <= now) this.forgetSlot(s)
    else {
      // What this slot waits for next: its expiry, or (expired) the end of its retention.
      const next =
        expired || (this.flags[s]! & RESIDENT) === 0
          ? Math.max(forgetAt, this.expiryOf(s))
          : this.expiryOf(s)
      if (next < this.passDue) this.passDue = next
    }
    return dropped
  }
}
