import { compareVersions as order, type Version } from '../clock/version.js'
import type { EntryTable } from '../store/entry-table.js'

/** A resident value that may be among the oldest: its key and its version when stored. */
interface Noted extends Version {
  readonly key: string
}

/** Part of the resident values a pass notes as the oldest (at least {@link MIN_NOTED}). */
const NOTED_SHARE = 8
/** Fewest values a pass notes. */
const MIN_NOTED = 64

/**
 * Which resident values of one keyspace a clear kills, without walking the store for
 * every clear. Invariant: every resident value is either noted (a min-heap by version of
 * key and version) or not older than the floor. Before the first pass nothing is noted
 * and the floor is the oldest version stored; a pass over the resident entries notes the
 * oldest eighth of the values that survive it and sets the floor to the newest of those.
 * A clear then costs:
 * - O(1) when no note and not the floor is older (it kills nothing);
 * - O(k log n) when it is not newer than the floor: the k notes older than it are popped
 *   and checked against the table (a key written again or dropped since is skipped);
 * - a pass otherwise. Such a clear kills every noted value still held, so a pass follows
 *   an eighth of the store having been killed, written again or dropped since the last
 *   one. A value stored older than the floor (a peer's old-stamped write) is noted; past
 *   twice the notes of the pass they are given up, the floor lowered to the oldest.
 * N clears in a batch, whatever their stamps, cost O(N log n) and passes that each find
 * an eighth fewer values than the last: about eight passes over the store at worst in
 * all, never one per clear.
 *
 * Its owner must tell it of every value the table stores ({@link stored}); it drops
 * values from the table only in {@link kill}. Pure: no timers, no clock.
 */
export class OldestValues {
  /** Lower bound of resident values not in {@link notes}; +Infinity: none stored yet. */
  private floorWall = Number.POSITIVE_INFINITY
  private floorLogical = 0
  private floorNode = ''
  /** Min-heap by version; kept only after a pass ({@link noting}). */
  private notes: Noted[] = []
  /** Whether stores older than the floor are noted (after a pass) or lower it (before). */
  private noting = false
  /** Notes held past this many: given up, the floor lowered to the oldest of them. */
  private maxNotes = 0
  /** Whole passes over the resident entries (tests, stats). */
  passes = 0

  constructor(private readonly minNoted = MIN_NOTED) {}

  /** A value at this version was stored under `key` (any write: local, remote, from disk). */
  stored(key: string, wall: number, logical: number, node: string): void {
    if (!this.belowFloor(wall, logical, node)) return
    if (!this.noting) {
      this.floorWall = wall
      this.floorLogical = logical
      this.floorNode = node
      return
    }
    push(this.notes, { key, wall, logical, node })
    if (this.notes.length > this.maxNotes) {
      // Too many old stores since the pass: the oldest of them is the new floor.
      const oldest = this.notes[0]!
      this.floorWall = oldest.wall
      this.floorLogical = oldest.logical
      this.floorNode = oldest.node
      this.notes = []
      this.noting = false
    }
  }

  /** True when no resident value can be older than `v` (nothing for an invalidation at `v` to kill). */
  noneOlderThan(v: Version): boolean {
    const top = this.notes[0]
    if (top !== undefined && order(top, v) < 0) return false
    return this.belowFloor(v.wall, v.logical, v.node) || this.atFloor(v.wall, v.logical, v.node)
  }

  /** Drops from `table` every resident value older than `clear`. */
  kill(clear: Version, table: EntryTable<unknown>): void {
    const { wall, logical, node } = clear
    if (this.belowFloor(wall, logical, node) || this.atFloor(wall, logical, node)) {
      const notes = this.notes
      while (notes.length > 0 && order(notes[0]!, clear) < 0) {
        const { key } = pop(notes)
        const s = table.slotOf(key)
        if (s >= 0 && isValue(table, s) && table.compare(s, wall, logical, node) > 0) {
          table.dropEntry(key)
        }
      }
      return
    }
    this.pass(clear, table)
  }

  /**
   * One pass over the resident entries: drops values older than `clear`, notes the
   * oldest eighth of the rest and sets the floor to the newest of them.
   */
  private pass(clear: Version, table: EntryTable<unknown>): void {
    this.passes++
    const { wall, logical, node } = clear
    const keep = Math.max(this.minNoted, Math.ceil(table.residentCount / NOTED_SHARE))
    // The `keep` oldest survivors: a max-heap once full (the newest kept on top).
    const oldest: Noted[] = []
    let full = false
    const keys = table.keys
    // Least recently used first: mostly write order, so most survivors past the first
    // `keep` are newer than every kept one (one compare each).
    const slots = table.residentSlots()
    for (let i = slots.length - 1; i >= 0; i--) {
      const s = slots[i]!
      if (!isValue(table, s)) continue
      if (table.compare(s, wall, logical, node) > 0) {
        table.dropEntry(keys[s]!)
        continue
      }
      if (oldest.length < keep) {
        oldest.push(noteOf(table, s))
        continue
      }
      if (!full) {
        heapify(oldest, NEWEST_FIRST)
        full = true
      }
      const newest = oldest[0]!
      if (table.compare(s, newest.wall, newest.logical, newest.node) <= 0) continue
      oldest[0] = noteOf(table, s)
      siftDown(oldest, 0, NEWEST_FIRST)
    }
    if (!full) heapify(oldest, NEWEST_FIRST)
    const newest: Version = oldest[0] ?? clear
    this.floorWall = newest.wall
    this.floorLogical = newest.logical
    this.floorNode = newest.node
    heapify(oldest, OLDEST_FIRST)
    this.notes = oldest
    this.noting = true
    this.maxNotes = 2 * keep
  }

  private belowFloor(wall: number, logical: number, node: string): boolean {
    if (wall !== this.floorWall) return wall < this.floorWall
    if (logical !== this.floorLogical) return logical < this.floorLogical
    return node < this.floorNode
  }

  private atFloor(wall: number, logical: number, node: string): boolean {
    return wall === this.floorWall && logical === this.floorLogical && node === this.floorNode
  }
}

/** True when `s` holds a resident value (not a tombstone). */
function isValue(table: EntryTable<unknown>, s: number): boolean {
  return table.isResident(s) && !table.isTombstone(s)
}

function noteOf(table: EntryTable<unknown>, s: number): Noted {
  return {
    key: table.keys[s]!,
    wall: table.wallOf(s),
    logical: table.logicalOf(s),
    node: table.nodeOf(s),
  }
}

/** Heap orders: the oldest on top (notes), or the newest (a pass's selection). */
const OLDEST_FIRST = 1
const NEWEST_FIRST = -1

/** Adds `item` to min-heap `heap`. */
function push(heap: Noted[], item: Noted): void {
  let i = heap.length
  heap.push(item)
  while (i > 0) {
    const parent = (i - 1) >> 1
    if (order(heap[parent]!, item) <= 0) break
    heap[i] = heap[parent]!
    i = parent
  }
  heap[i] = item
}

/** Removes and returns the oldest item of non-empty min-heap `heap`. */
function pop(heap: Noted[]): Noted {
  const top = heap[0]!
  const last = heap.pop()!
  if (heap.length > 0) {
    heap[0] = last
    siftDown(heap, 0, OLDEST_FIRST)
  }
  return top
}

/** Makes `heap` a heap in `sign`'s order, in O(n). */
function heapify(heap: Noted[], sign: number): void {
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftDown(heap, i, sign)
}

/** Moves the item at `i` down to its place in a heap in `sign`'s order. */
function siftDown(heap: Noted[], i: number, sign: number): void {
  const n = heap.length
  const item = heap[i]!
  for (;;) {
    const l = 2 * i + 1
    if (l >= n) break
    const r = l + 1
    const c = r < n && sign * order(heap[r]!, heap[l]!) < 0 ? r : l
    if (sign * order(heap[c]!, item) >= 0) break
    heap[i] = heap[c]!
    i = c
  }
  heap[i] = item
}
