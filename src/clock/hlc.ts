import { InvalidOptionError } from '../errors.js'
import type { Version } from './version.js'

/** Source of physical time in ms; injectable so the clock is deterministic in tests. */
export type PhysicalClock = () => number

/** Options of {@link HybridClock}. */
export interface HybridClockOptions {
  /** Id of this node, the tiebreak of every version it stamps. */
  node: string
  /** Physical time source in ms. @default Date.now */
  physical?: PhysicalClock
  /** Largest amount (ms) a remote stamp may run ahead of local physical time. @default 60_000 */
  maxDrift?: number
}

/** Default `maxDrift`: one minute. */
export const DEFAULT_MAX_DRIFT_MS = 60_000

/**
 * Hybrid logical clock (Kulkarni, Demirbas et al., "Logical Physical Clocks", 2014, Fig. 5).
 *
 * Stamps are close to wall-clock time, never go backwards, and respect causality: a stamp
 * taken after {@link HybridClock.update} with a remote stamp is larger than that stamp.
 * Pure: no timers; time comes from the injected physical clock.
 */
export class HybridClock {
  readonly node: string
  readonly maxDrift: number
  private readonly physical: PhysicalClock
  private wall = 0
  private logical = 0

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
    this.node = options.node
    this.maxDrift = maxDrift
    this.physical = options.physical ?? Date.now
  }

  /**
   * Stamps a local event (a write): strictly larger than every stamp seen or made before.
   * @param pt - physical time already read by the caller (saves a clock read on writes)
   */
  now(pt: number = this.physical()): Version {
    if (pt > this.wall) {
      this.wall = pt
      this.logical = 0
    } else {
      this.logical++
    }
    return { wall: this.wall, logical: this.logical, node: this.node }
  }

  /**
   * Checks a remote stamp against the drift guard without changing the clock.
   * @returns true when `remote` is at most `maxDrift` ms ahead of local physical time
   */
  accepts(remote: Version, pt: number = this.physical()): boolean {
    return remote.wall - pt <= this.maxDrift
  }

  /**
   * Merges a remote stamp (a received write) into the clock, so later local stamps
   * order after it. A stamp beyond the drift bound ({@link accepts}) is not merged.
   * @returns false when `remote` was beyond the drift bound (the clock is unchanged)
   */
  update(remote: Version): boolean {
    const pt = this.physical()
    if (!this.accepts(remote, pt)) return false
    this.merge(remote, pt)
    return true
  }

  private merge(remote: Version, pt: number): void {
    const wall = Math.max(this.wall, remote.wall, pt)
    if (wall === this.wall && wall === remote.wall) {
      this.logical = Math.max(this.logical, remote.logical) + 1
    } else if (wall === this.wall) {
      this.logical++
    } else if (wall === remote.wall) {
      this.logical = remote.logical + 1
    } else {
      this.logical = 0
    }
    this.wall = wall
  }

  /** The last stamp made or seen, without advancing the clock. */
  peek(): Version {
    return { wall: this.wall, logical: this.logical, node: this.node }
  }
}
