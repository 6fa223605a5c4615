import { ClockSkewError, InvalidOptionError } from '../errors.js'
import type { Version } from './version.js'

/** Source of physical time in ms; injectable so the clock is deterministic in tests. */
export type PhysicalClock = () => number

/**
 * What the mesh knows of clocks, as the HLC reads it (implemented by `ClockOffsets`): a
 * reason to refuse writes, and how far each peer's stamps run ahead of this node's clock.
 */
export interface MeshClockView {
  /**
   * Why this node must not stamp writes now (its clock is more than the drift bound off a
   * majority of the peers it measured, and they agree on no correction), or undefined.
   */
  readonly writeRefusal: string | undefined
  /** How far `node`'s stamps run ahead of this node's clock, ms (negative: behind); undefined when not measured. */
  leadOf(node: string): number | undefined
}

/** Options of {@link HybridClock}. */
export interface HybridClockOptions {
  /** Id of this node, the tiebreak of every version it stamps. */
  node: string
  /** Physical time source in ms. @default Date.now */
  physical?: PhysicalClock
  /** Largest amount (ms) a remote stamp may run ahead of local physical time. @default 60_000 */
  maxDrift?: number
  /**
   * Largest amount (ms) the clock runs ahead of physical time because of remote stamps:
   * a stamp further ahead moves it no further (see {@link HybridClock.update}). @default 1_000
   */
  maxLead?: number
  /** The mesh's view of clocks: write refusal and peers' measured leads. @default none (an embedded cache) */
  mesh?: MeshClockView
}

/** Default `maxDrift`: one minute. */
export const DEFAULT_MAX_DRIFT_MS = 60_000

/**
 * Default `maxLead`: one second. Stamps of correct nodes then order writes made more than
 * a second apart by real time, whatever a skewed peer sent.
 */
export const DEFAULT_MAX_LEAD_MS = 1_000

/**
 * Hybrid logical clock (Kulkarni, Demirbas et al., "Logical Physical Clocks", 2014, Fig. 5),
 * with its lead over physical time bounded.
 *
 * Stamps are close to wall-clock time and respect causality as far as the bound allows:
 * a stamp taken after {@link HybridClock.update} with a remote stamp is larger than that
 * stamp when the stamp is at most `maxLead` ahead of physical time. A stamp further ahead
 * (a peer with a fast clock) moves the clock only to `maxLead` ahead, after reading it
 * through the peer's measured lead, so that one skewed peer cannot make this node's writes
 * beat later writes of correct nodes; the causality that last-writer-wins needs is kept
 * per key instead ({@link HybridClock.after}: a write of a key is stamped after the version
 * it holds). Stamps never go backwards while physical time does not step back by more than
 * `maxLead` (the clock then runs at most `2 x maxLead` ahead); when it does (the mesh
 * corrected this node's clock), the clock follows it.
 * Pure: no timers; time comes from the injected physical clock.
 */
export class HybridClock {
  readonly node: string
  readonly maxDrift: number
  readonly maxLead: number
  private readonly physical: PhysicalClock
  private readonly mesh: MeshClockView | undefined
  private wall = 0
  private logical = 0
  /**
   * The newest stamp this clock stayed behind of: remote stamps beyond the lead bound, and
   * this clock's own reading before physical time stepped back. A version held for a key
   * can be ahead of the clock only up to it (see {@link behindUntil}).
   */
  private ahead: Version | undefined

  constructor(options: HybridClockOptions) {
    if (typeof options.node !== 'string' || options.node.length === 0) {
      throw new InvalidOptionError('HybridClock needs a non-empty node id')
    }
    const maxDrift = options.maxDrift ?? DEFAULT_MAX_DRIFT_MS
    if (!Number.isFinite(maxDrift) || maxDrift < 0) {
      throw new InvalidOptionError(
        `maxClockDrift must be a non-negative number of ms, got ${maxDrift}`,
      )
    }
    const maxLead = options.maxLead ?? DEFAULT_MAX_LEAD_MS
    if (!Number.isFinite(maxLead) || maxLead < 0) {
      throw new InvalidOptionError(`maxLead must be a non-negative number of ms, got ${maxLead}`)
    }
    this.node = options.node
    this.maxDrift = maxDrift
    this.maxLead = maxLead
    this.physical = options.physical ?? Date.now
    this.mesh = options.mesh
  }

  /**
   * Stamps a local event (a write): strictly larger than every stamp made before and every
   * remote stamp merged within the lead bound.
   * @param pt - physical time already read by the caller (saves a clock read on writes)
   */
  now(pt: number = this.physical()): Version {
    if (pt > this.wall) {
      this.wall = pt
      this.logical = 0
    } else if (this.wall - pt > 2 * this.maxLead) {
      // Physical time stepped back by more than the lead bound (the mesh corrected this
      // node's clock, or the host's was set back): follow it rather than stamp ahead of
      // every correct node. Versions held from before are kept ahead of by `after`, per
      // key. (Twice the bound: a clock at the bound and a small step back, such as a
      // host clock adjustment of a few ms, keep stamps monotonic.)
      this.remember({ wall: this.wall, logical: this.logical, node: this.node })
      this.wall = pt
      this.logical = 0
    } else {
      this.logical++
    }
    return { wall: this.wall, logical: this.logical, node: this.node }
  }

  /**
   * Throws when the mesh says this node's clock is too far off for its writes to be held
   * (see {@link MeshClockView.writeRefusal}).
   * @throws ClockSkewError with what is wrong and what to do
   */
  checkWritable(): void {
    const refusal = this.mesh?.writeRefusal
    if (refusal !== undefined) throw new ClockSkewError(refusal)
  }

  /**
   * No held version can be ahead of a stamp whose wall is above this (ms): the write path
   * looks a key's version up only for stamps at or below it. `-Infinity` while the clock
   * never stayed behind a stamp.
   */
  get behindUntil(): number {
    return this.ahead === undefined ? Number.NEGATIVE_INFINITY : this.ahead.wall
  }

  /**
   * A stamp just after `(wall, logical)`, a version this node holds for the key it writes
   * and that is ahead of the clock: a write made after reading a value wins over it,
   * whatever the clocks. Does not move the clock (that would drag every later write).
   * @param pt - physical time
   * @throws ClockSkewError when that version is more than `maxDrift` ahead of `pt` (it was
   *   stamped while this node's own clock was wrong; peers would refuse a stamp after it)
   */
  after(wall: number, logical: number, pt: number): Version {
    if (wall - pt > this.maxDrift) {
      throw new ClockSkewError(
        `the key holds a version ${Math.round(wall - pt)} ms ahead of this node's clock, beyond maxClockDrift (${this.maxDrift} ms): it was written while this node's clock was wrong, and peers would refuse a write ordered after it; it can be written again once that time has passed`,
      )
    }
    return { wall, logical: logical + 1, node: this.node }
  }

  /**
   * Stamps a write that must order after everything this node holds (a clear or a tag
   * invalidation, which kill every older entry): after the newest stamp the clock stayed
   * behind of, when that one lies within `maxDrift` of `pt`.
   * @param pt - physical time
   */
  nowAfterAll(pt: number = this.physical()): Version {
    const v = this.now(pt)
    const ahead = this.ahead
    if (ahead === undefined || ahead.wall - pt > this.maxDrift) return v
    if (ahead.wall < v.wall || (ahead.wall === v.wall && ahead.logical < v.logical)) return v
    return { wall: ahead.wall, logical: ahead.logical + 1, node: this.node }
  }

  /**
   * Checks a remote stamp against the drift guard without changing the clock.
   * @returns true when `remote` is at most `maxDrift` ms ahead of local physical time
   */
  accepts(remote: Version, pt: number = this.physical()): boolean {
    return remote.wall - pt <= this.maxDrift
  }

  /** {@link accepts} of a stamp's wall time. @param pt - physical time */
  acceptsWall(wall: number, pt: number): boolean {
    return wall - pt <= this.maxDrift
  }

  /**
   * Merges a remote stamp (a received write) into the clock, so later local stamps order
   * after it. A stamp beyond the drift bound ({@link accepts}) is not merged. A stamp more
   * than `maxLead` ahead of physical time is first read through its writer's measured lead
   * (its clock minus ours), and moves the clock at most to `maxLead` ahead.
   * @returns false when `remote` was beyond the drift bound (the clock is unchanged)
   */
  update(remote: Version): boolean {
    return this.updateStamp(remote.wall, remote.logical, remote.node, this.physical())
  }

  /**
   * {@link update} with the stamp's parts and physical time read by the caller (a batch
   * of received writes reads the clock once): no allocation unless the stamp is far ahead.
   * @param pt - physical time
   * @returns false when the stamp was beyond the drift bound (the clock is unchanged)
   */
  updateStamp(wall: number, logical: number, node: string, pt: number): boolean {
    if (wall - pt > this.maxDrift) return false
    const bound = pt + this.maxLead
    if (wall <= bound) {
      this.merge(wall, logical, pt)
      return true
    }
    this.remember({ wall, logical, node })
    const lead = this.mesh?.leadOf(node)
    const read = lead !== undefined && lead > 0 ? wall - lead : wall
    if (read <= bound) this.merge(read, logical, pt)
    else this.merge(bound, 0, pt)
    return true
  }

  /** The last stamp made or seen, without advancing the clock. */
  peek(): Version {
    return { wall: this.wall, logical: this.logical, node: this.node }
  }

  private merge(rWall: number, rLogical: number, pt: number): void {
    const wall = Math.max(this.wall, rWall, pt)
    if (wall === this.wall && wall === rWall) {
      this.logical = Math.max(this.logical, rLogical) + 1
    } else if (wall === this.wall) {
      this.logical++
    } else if (wall === rWall) {
      this.logical = rLogical + 1
    } else {
      this.logical = 0
    }
    this.wall = wall
  }

  /** Keeps the newest stamp the clock stays behind of. */
  private remember(v: Version): void {
    const a = this.ahead
    if (a === undefined || v.wall > a.wall || (v.wall === a.wall && v.logical > a.logical)) {
      this.ahead = v
    }
  }
}
