/** Slot flag: the slot holds a key. */
export const USED = 1
/** Slot flag: the key's entry (value or tombstone) is resident, in the LRU list. */
export const RESIDENT = 2
/** Slot flag: the key's version is a delete. */
export const TOMB = 4
/** Slot flag: the resident value is held as its encoded bytes (decoded on first read). */
export const ENCODED = 8
/** Sentinel of the resident list: next is the least recently used, prev the most. */
export const LRU = 0
/** Sentinel of the list of non-resident keys, in the order they left residency. */
export const GHOSTS = 1
/** Sentinel of the list of free slots, in the order they were freed (oldest reused first). */
export const FREE = 2
/** First slot that holds a key (0, 1 and 2 are the sentinels). */
export const FIRST_SLOT = 3
const INITIAL_CAPACITY = 1024

/**
 * The storage of an entry table: one `Map` from key to slot and, per slot, typed-array
 * columns (version, expiry, size, flags) and an intrusive doubly linked list through
 * `prev`/`next` — three circular lists with sentinel slots: residents in LRU order, the
 * keys that left residency in the order they left, and free slots in the order they were
 * freed. lru-cache's layout, with our columns beside it. Columns grow by doubling, first
 * up to exactly `fullSlots` (a full table without evictions wastes nothing), then up to
 * `maxSlots`.
 *
 * **A forgotten key stays in the map until its slot is reused** (a *retired* key: its
 * slot is free, `keys` still names it). V8 rehashes a `Map` whenever deletes shrink it
 * below a quarter of its capacity, in one go: 50-130 ms at 1M keys on this project's
 * machines, in whichever sweep step made the delete that crossed the line. Here the map
 * never shrinks: a slot taken from the free list deletes its retired key and sets the new
 * one (the size stays, as in an LRU at capacity), and a retired key written again takes
 * its own slot back with no map write at all. The cost: a retired key's string lives on
 * until its slot is reused or the table is cleared; never more keys than slots, so never
 * more than a full table holds.
 */
export class SlotColumns<V> {
  /** Key of each slot. */
  keys: (string | undefined)[] = []
  /** Value of each slot; undefined when not resident or a tombstone. */
  values: (V | undefined)[] = []
  /**
   * The version per slot, interleaved: wall clock (ms) at 2s, logical counter at 2s + 1.
   * One cache line where two columns took two: a write sets both (issue 29). The expiry
   * stays a column of its own: a read looks at it alone.
   */
  protected times: Float64Array
  /** Absolute expiry, wall-clock ms. */
  protected expiresAt: Float64Array
  /** Version node, as an index into {@link nodes}. */
  node: Uint32Array
  /** Bytes counted against maxBytes while resident. */
  size: Uint32Array
  /** Interned node ids (never shrinks: a mesh has few writers). */
  readonly nodes: string[] = []
  protected flags: Uint8Array
  /**
   * The lists' links, interleaved: `prev` of slot s at 2s, `next` at 2s + 1. One cache
   * line for both links of a slot, where two columns took two (a write relinks its slot
   * and touches both neighbours: issue 29).
   */
  protected links: Uint32Array
  /** Key to slot, known keys and retired ones (see the class note). */
  protected readonly slots = new Map<string, number>()
  /** Keys in {@link slots} whose slot is free. */
  protected retired = 0
  /** One past the highest slot ever used. */
  protected end = FIRST_SLOT
  /** Slots the columns hold now (they grow by doubling). */
  protected capacity: number
  private readonly nodeIds = new Map<string, number>()
  private lastNode = ''
  private lastNodeId = -1
  /** The last key {@link lookup} answered, and its answer (kept true by every map write). */
  private memoKey: string | undefined
  private memoSlot: number | undefined

  constructor(
    private readonly fullSlots: number,
    private readonly maxSlots: number,
  ) {
    const cap = Math.min(INITIAL_CAPACITY, maxSlots + FIRST_SLOT)
    this.times = new Float64Array(2 * cap)
    this.expiresAt = new Float64Array(cap)
    this.node = new Uint32Array(cap)
    this.size = new Uint32Array(cap)
    this.flags = new Uint8Array(cap)
    this.links = new Uint32Array(2 * cap)
    this.capacity = cap
    extend(this.keys, cap)
    extend(this.values, cap)
    this.resetLists()
  }

  /** The slot of `key`, or -1 when its version is not known. */
  slotOf(key: string): number {
    const s = this.lookup(key)
    return s === undefined || this.flags[s] === 0 ? -1 : s
  }

  /**
   * What the map holds for `key` (a live or a retired slot), remembered for the next call
   * with the same key: a received write asks its slot, then merges into it (one probe of
   * a map of 1M keys costs ~0.1-1 us on these machines).
   */
  protected lookup(key: string): number | undefined {
    if (key === this.memoKey) return this.memoSlot
    const s = this.slots.get(key)
    this.memoKey = key
    this.memoSlot = s
    return s
  }

  /** Slots the columns hold now: a column kept beside them grows to this. */
  get slotCapacity(): number {
    return this.capacity
  }

  /** Version wall clock of `slot`, ms. */
  wallOf(slot: number): number {
    return this.times[2 * slot]!
  }

  /** Version logical counter of `slot`. */
  logicalOf(slot: number): number {
    return this.times[2 * slot + 1]!
  }

  /** Absolute expiry of `slot`, wall-clock ms. */
  expiryOf(slot: number): number {
    return this.expiresAt[slot]!
  }

  /** True when `slot` holds a resident entry (value or tombstone). */
  isResident(slot: number): boolean {
    return (this.flags[slot]! & RESIDENT) !== 0
  }

  /** True when the version in `slot` is a delete. */
  isTombstone(slot: number): boolean {
    return (this.flags[slot]! & TOMB) !== 0
  }

  /** Node id of the version in `slot`. */
  nodeOf(slot: number): string {
    return this.nodes[this.node[slot]!]!
  }

  /** The interned index of node id `node`. */
  internNode(node: string): number {
    if (node === this.lastNode) return this.lastNodeId
    let id = this.nodeIds.get(node)
    if (id === undefined) {
      id = this.nodes.length
      this.nodes.push(node)
      this.nodeIds.set(node, id)
    }
    this.lastNode = node
    this.lastNodeId = id
    return id
  }

  /** Compares a version with the one in `slot`: negative when older, 0 same, positive newer. */
  compare(slot: number, wall: number, logical: number, node: string): number {
    const w = this.wallOf(slot)
    if (wall !== w) return wall < w ? -1 : 1
    const l = this.logicalOf(slot)
    if (logical !== l) return logical < l ? -1 : 1
    const n = this.nodes[this.node[slot]!]!
    if (node === n) return 0
    return node < n ? -1 : 1
  }

  /** Empties both lists and every slot (columns keep their capacity). */
  protected resetLists(): void {
    this.flags.fill(0)
    this.keys.fill(undefined)
    this.values.fill(undefined)
    this.links[2 * LRU] = LRU
    this.links[2 * LRU + 1] = LRU
    this.links[2 * GHOSTS] = GHOSTS
    this.links[2 * GHOSTS + 1] = GHOSTS
    this.links[2 * FREE] = FREE
    this.links[2 * FREE + 1] = FREE
    // One new empty table: no rehash, whatever the size.
    this.slots.clear()
    this.memoKey = undefined
    this.retired = 0
    this.end = FIRST_SLOT
  }

  /**
   * A slot for `key`, which has no live slot, named in `keys` and in the map: its own
   * slot back when the key is retired (`retiredSlot`, what the map gave), else the oldest
   * free slot (whose retired key leaves the map), else a new one. The caller sets flags.
   */
  protected claim(key: string, retiredSlot: number | undefined): number {
    if (retiredSlot !== undefined) {
      // No map write: the key still maps to its slot.
      this.unlink(retiredSlot)
      this.retired--
      return retiredSlot
    }
    let s = this.links[2 * FREE + 1]!
    if (s !== FREE) {
      this.unlink(s)
      const old = this.keys[s]
      if (old !== undefined) {
        // Paired with the set below: the map's size stays, so it never shrinks.
        this.slots.delete(old)
        this.retired--
      }
    } else {
      if (this.end === this.capacity) this.grow()
      s = this.end++
    }
    this.keys[s] = key
    this.slots.set(key, s)
    this.memoKey = key
    this.memoSlot = s
    return s
  }

  /** Frees slot `s` (already unlinked); its key stays in the map, retired. */
  protected release(s: number): void {
    this.flags[s] = 0
    this.retired++
    this.link(FREE, s)
  }

  /** Marks resident slot `s` most recently used. */
  protected touch(s: number): void {
    if (this.links[2 * LRU] !== s) {
      this.unlink(s)
      this.link(LRU, s)
    }
  }

  /** Appends `s` at the tail of `list` (the most recent end). */
  protected link(list: number, s: number): void {
    const last = this.links[2 * list]!
    this.links[2 * last + 1] = s
    this.links[2 * s] = last
    this.links[2 * s + 1] = list
    this.links[2 * list] = s
  }

  protected unlink(s: number): void {
    const p = this.links[2 * s]!
    const n = this.links[2 * s + 1]!
    this.links[2 * p + 1] = n
    this.links[2 * n] = p
  }

  private grow(): void {
    const full = this.fullSlots + FIRST_SLOT
    const bound = this.maxSlots + FIRST_SLOT
    const cap = Math.min(this.capacity * 2, this.capacity < full ? full : bound)
    this.times = grown(this.times, new Float64Array(2 * cap))
    this.expiresAt = grown(this.expiresAt, new Float64Array(cap))
    this.node = grown(this.node, new Uint32Array(cap))
    this.size = grown(this.size, new Uint32Array(cap))
    this.flags = grown(this.flags, new Uint8Array(cap))
    this.links = grown(this.links, new Uint32Array(2 * cap))
    extend(this.keys, cap)
    extend(this.values, cap)
    this.capacity = cap
  }
}

function grown<T extends Float64Array | Uint32Array | Uint8Array>(from: T, to: T): T {
  to.set(from)
  return to
}

/**
 * Grows a column to `length`, filled with `undefined` (no holes, though V8 marks it holey:
 * a read checks for the hole, ~free). Pushes one at a time cost ~2x (issue 29: ~35 ms to
 * grow two columns to 256k slots, in a receiver's burst).
 */
function extend(column: unknown[], length: number): void {
  const from = column.length
  if (from >= length) return
  column.length = length
  column.fill(undefined, from)
}
