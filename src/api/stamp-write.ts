/**
 * The version a local write gets (its HLC stamp, or one just after what it must order
 * after), and when it replaces a version instead of ordering after it.
 * @module
 */
import type { HybridClock } from '../clock/hlc.js'
import { compareVersions, type Version } from '../clock/version.js'
import { CLEAR_KEY, isReservedKey, tagKey } from '../replica/tag-invalidations.js'

/**
 * The versions a keyspace holds per key (its entry table), as the write path reads them
 * to stamp a write after the version it replaces.
 */
export interface HeldVersions {
  /** The slot of `key`, or -1 when no version of it is known. */
  slotOf(key: string): number
  /** Compares a version with the one in `slot`: positive when the given one is newer. */
  compare(slot: number, wall: number, logical: number, node: string): number
  /** Version wall clock of a slot, ms. */
  wallOf(slot: number): number
  /** Version logical counter of a slot. */
  logicalOf(slot: number): number
}

/**
 * Stamps a local write of `key`: the clock's stamp, or, when the key holds a version at or
 * ahead of it (written by a peer whose clock runs ahead, which the clock did not follow,
 * or before this node's clock was corrected back), a stamp just after that version, so
 * that a write made after reading a value wins over it. Clears and tag invalidations
 * (reserved keys) order after everything the clock stayed behind of.
 *
 * A held version more than `maxClockDrift` ahead of the clock is one no peer accepted (it
 * was stamped while this node's own clock ran that far ahead, before the mesh corrected
 * it): a stamp after it would be refused everywhere too. The write is then stamped on the
 * clock and replaces it ({@link farAhead}, `PreparedWrite.replacesFarAhead`).
 * @throws ClockSkewError when this node refuses writes (its clock is too far off its peers)
 */
export function stampWrite(
  key: string,
  now: number,
  clock: HybridClock,
  held: HeldVersions,
  tags?: readonly string[],
  tagFloor?: Version,
): Version {
  clock.checkWritable()
  if (isReservedKey(key)) return clock.nowAfterAll(now)
  const v = clock.now(now)
  // The tag floor (invalidations folded past the keyspace's bound, or restored from disk)
  // kills tagged writes older than it; it lives in the invalidation table, not under a key.
  const floor =
    tags !== undefined &&
    tagFloor !== undefined &&
    tagFloor.wall - now <= clock.maxDrift &&
    compareVersions(tagFloor, v) >= 0
      ? tagFloor
      : undefined
  // The common case costs nothing: the clock is ahead of every version it ever saw.
  if (v.wall > clock.behindUntil && floor === undefined) return v
  const s = held.slotOf(key)
  if (
    s >= 0 &&
    held.compare(s, v.wall, v.logical, v.node) <= 0 &&
    held.wallOf(s) - now > clock.maxDrift
  )
    return v
  // After the key's version, and after every clear or tag invalidation that would kill
  // the value (stamped after what the clock stayed behind of): a value written after a
  // clear must not read as older than it on the other nodes, which would drop it.
  let last = newerHeld(held, s, v, now, clock.maxDrift, -1)
  last = newerHeld(held, held.slotOf(CLEAR_KEY), v, now, clock.maxDrift, last)
  if (tags !== undefined) {
    for (const tag of tags)
      last = newerHeld(held, held.slotOf(tagKey(tag)), v, now, clock.maxDrift, last)
  }
  let wall = last < 0 ? undefined : held.wallOf(last)
  let logical = last < 0 ? 0 : held.logicalOf(last)
  if (
    floor !== undefined &&
    (wall === undefined || floor.wall > wall || (floor.wall === wall && floor.logical > logical))
  ) {
    wall = floor.wall
    logical = floor.logical
  }
  return wall === undefined ? v : clock.after(wall, logical, now)
}

/**
 * Of `best` (a slot, or -1) and `slot`, the one holding the newest version at or ahead of
 * `v` and at most `maxDrift` ahead of `now`; -1 when neither.
 */
function newerHeld(
  held: HeldVersions,
  slot: number,
  v: Version,
  now: number,
  maxDrift: number,
  best: number,
): number {
  if (slot < 0 || held.compare(slot, v.wall, v.logical, v.node) > 0) return best
  if (held.wallOf(slot) - now > maxDrift) return best
  if (best < 0) return slot
  const wall = held.wallOf(slot)
  const bestWall = held.wallOf(best)
  return wall > bestWall || (wall === bestWall && held.logicalOf(slot) > held.logicalOf(best))
    ? slot
    : best
}

/**
 * True when a write stamped `version` must replace the version `key` holds rather than
 * order after it: that one is more than `maxClockDrift` ahead of the clock (see
 * {@link stampWrite}). Free unless the clock stayed behind some stamp.
 */
export function farAhead(
  key: string,
  version: Version,
  now: number,
  clock: HybridClock,
  held: HeldVersions,
): boolean {
  if (version.wall > clock.behindUntil) return false
  const s = held.slotOf(key)
  return s >= 0 && held.wallOf(s) - now > clock.maxDrift
}
