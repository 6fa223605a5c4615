/** Slot flag: the slot holds a key. */
export const USED = 1
/** Slot flag: the key's entry (value or tombstone) is resident, in the LRU list. */
export const RESIDENT = 2
/** Slot flag: the key's version is a delete. */
export const TOMB = 4
/** Sentinel of the resident list: next is the least recently used, prev the most. */
export const LRU = 0
/** Sentinel of the list of non-resident keys, in the order they left residency. */
export const GHOSTS = 1
/** First slot that holds a key (0 and 1 are the sentinels). */
export const FIRST_SLOT = 2
const INITIAL_CAPACITY = 1024

/**
 * The storage of an entry table: one `Map` from key to slot and, per slot, typed-array
 * columns (version, expiry, size, flags) and an intrusive doubly linked list through
 * `prev`/`next` — two circular lists with sentinel slots, residents in LRU order and the
 * keys that left residency, in the order they left. lru-cache's layout, with our columns
 * beside it. Columns grow by doubling, first up to exactly `fullSlots` (a full table
 * without evictions wastes nothing), then up to `maxSlots`.
 */
export class SlotColumns<V> {
  /** Key of each slot. */
  keys: (string | undefined)[] = []
  /** Value of each slot; undefined when not resident or a tombstone. */
  values: (V | undefined)[] = []
  /** Version wall clock, ms. */
  wall: Float64Array
  /** Version logical counter. */
  logical: Float64Array
  /** Version node, as an index into {@link nodes}. */
  node: Uint32Array
  /** Absolute expiry, wall-clock ms. */
  expiresAt: Float64Array
  /** Bytes counted against maxBytes while resident. */
  size: Uint32Array
  /** Interned node ids (never shrinks: a mesh has few writers). */
  readonly nodes: string[] = []
  protected flags: Uint8Array
  protected prev: Uint32Array
  protected next: Uint32Array
  protected readonly slots = new Map<string, number>()
  /** One past the highest slot ever used. */
  protected end = FIRST_SLOT
  /** Free slots, chained through `next`; 0 ends the chain. */
  protected free = 0
  private capacity: number
  private readonly nodeIds = new Map<string, number>()
  private lastNode = ''
  private lastNodeId = -1

  constructor(
    private readonly fullSlots: number,
    private readonly maxSlots: number,
  ) {
    const cap = Math.min(INITIAL_CAPACITY, maxSlots + FIRST_SLOT)
    this.wall = new Float64Array(cap)
    this.logical = new Float64Array(cap)
    this.node = new Uint32Array(cap)
    this.expiresAt = new Float64Array(cap)
    this.size = new Uint32Array(cap)
    this.flags = new Uint8Array(cap)
    this.prev = new Uint32Array(cap)
    this.next = new Uint32Array(cap)
    this.capacity = cap
    extend(this.keys, cap)
    extend(this.values, cap)
    this.resetLists()
  }

  /** The slot of `key`, or -1 when its version is not known. */
  slotOf(key: string): number {
    return this.slots.get(key) ?? -1
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
    const w = this.wall[slot]!
    if (wall !== w) return wall < w ? -1 : 1
    const l = this.logical[slot]!
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
    this.prev[LRU] = LRU
    this.next[LRU] = LRU
    this.prev[GHOSTS] = GHOSTS
    this.next[GHOSTS] = GHOSTS
    this.slots.clear()
    this.end = FIRST_SLOT
    this.free = 0
  }

  /** A free slot, grown into when none is. */
  protected allocate(): number {
    if (this.free !== 0) {
      const s = this.free
      this.free = this.next[s]!
      return s
    }
    if (this.end === this.capacity) this.grow()
    return this.end++
  }

  /** Returns slot `s` (already unlinked) to the free chain. */
  protected release(s: number): void {
    this.keys[s] = undefined
    this.flags[s] = 0
    this.next[s] = this.free
    this.free = s
  }

  /** Marks resident slot `s` most recently used. */
  protected touch(s: number): void {
    if (this.prev[LRU] !== s) {
      this.unlink(s)
      this.link(LRU, s)
    }
  }

  /** Appends `s` at the tail of `list` (the most recent end). */
  protected link(list: number, s: number): void {
    const last = this.prev[list]!
    this.next[last] = s
    this.prev[s] = last
    this.next[s] = list
    this.prev[list] = s
  }

  protected unlink(s: number): void {
    const p = this.prev[s]!
    const n = this.next[s]!
    this.next[p] = n
    this.prev[n] = p
  }

  private grow(): void {
    const full = this.fullSlots + FIRST_SLOT
    const bound = this.maxSlots + FIRST_SLOT
    const cap = Math.min(this.capacity * 2, this.capacity < full ? full : bound)
    this.wall = grown(this.wall, new Float64Array(cap))
    this.logical = grown(this.logical, new Float64Array(cap))
    this.node = grown(this.node, new Uint32Array(cap))
    this.expiresAt = grown(this.expiresAt, new Float64Array(cap))
    this.size = grown(this.size, new Uint32Array(cap))
    this.flags = grown(this.flags, new Uint8Array(cap))
    this.prev = grown(this.prev, new Uint32Array(cap))
    this.next = grown(this.next, new Uint32Array(cap))
    extend(this.keys, cap)
    extend(this.values, cap)
    this.capacity = cap
  }
}

function grown<T extends Float64Array | Uint32Array | Uint8Array>(from: T, to: T): T {
  to.set(from)
  return to
}

/** Grows a column to `length` with `undefined`, keeping it a packed array (fast reads). */
function extend(column: unknown[], length: number): void {
  while (column.length < length) column.push(undefined)
}
