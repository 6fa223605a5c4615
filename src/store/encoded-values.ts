/** Bytes of one chunk: received values are copied in, one after the other. */
export const CHUNK_BYTES = 16_384
/** A value larger than this gets a chunk of its own (exactly its size). */
const OWN_CHUNK_BYTES = CHUNK_BYTES / 4

/**
 * Memory for a chunk, not zeroed: only the spans written are ever read. A zeroed 16 KiB
 * `Uint8Array` cost ~115 us here (fresh pages), this ~6 us.
 */
function uninitialized(n: number): Uint8Array {
  return Buffer.allocUnsafeSlow(n)
}

/** A run of encoded values, never rewritten: a view of one stays valid while held. */
class Chunk {
  /** Its number in {@link EncodedValues}' table while any value lives here (never 0). */
  id = 0
  /** Bytes written so far. */
  used = 0
  /** Bytes of values still held (the rest is dead). */
  live = 0
  /** Slots whose value was written here (some moved or dropped since: check {@link EncodedValues}). */
  slots: number[] = []
  constructor(readonly bytes: Uint8Array) {}
}

/**
 * Values kept as their msgpack bytes until first read, by slot of an entry table: what a
 * replica does with values it received, so a value nobody reads is never decoded. The
 * bytes are copied into shared chunks (no allocation per value; the wire buffer they came
 * in is not kept alive), and each slot records where its bytes are in typed columns.
 *
 * Memory stays within twice the bytes held, plus one chunk: a chunk that falls to less
 * than half live moves its survivors into the current chunk (bounded work: one chunk's
 * worth of bytes) and is left to the GC. Columns are allocated on first use, so a table
 * that never holds an encoded value (an embedded cache) pays nothing.
 */
export class EncodedValues {
  /**
   * The chunk of each slot, by number (0: none). A typed column, not an array of chunks:
   * growing an array of 256k references cost ~35 ms here, pushes or not (the receiver of
   * a 200k-write burst, issue 29); a number is freed when its chunk holds nothing live.
   */
  private chunkIds = new Uint32Array(0)
  /** Chunks by number; index 0 unused. */
  private table: (Chunk | undefined)[] = [undefined]
  private freeIds: number[] = []
  private start = new Uint32Array(0)
  private end = new Uint32Array(0)
  private current: Chunk | undefined
  /** Bytes of values held. */
  bytes = 0

  /** Chunks this holds on to (with a value still live, or the current one). */
  get chunksHeld(): number {
    return this.table.length - 1 - this.freeIds.length
  }

  /** True when `slot` holds bytes here. */
  has(slot: number): boolean {
    return slot < this.chunkIds.length && this.chunkIds[slot] !== 0
  }

  /** Keeps a copy of `bytes` as the value of `slot` (which holds none here). */
  hold(slot: number, bytes: Uint8Array): void {
    if (slot >= this.start.length) this.grow(slot)
    this.place(slot, bytes, 0, bytes.length)
    this.bytes += bytes.length
  }

  /** The bytes of `slot`'s value (a view: valid as long as the caller keeps it). */
  bytesOf(slot: number): Uint8Array {
    return this.table[this.chunkIds[slot]!]!.bytes.subarray(this.start[slot], this.end[slot])
  }

  /**
   * The chunk holding `slot`'s bytes, whole (with {@link startOf}, {@link endOf}: no view
   * made). Chunks are never rewritten: the bytes there stay the value's.
   */
  chunkOf(slot: number): Uint8Array {
    return this.table[this.chunkIds[slot]!]!.bytes
  }

  /** Where `slot`'s bytes start in {@link chunkOf}. */
  startOf(slot: number): number {
    return this.start[slot]!
  }

  /** Where `slot`'s bytes end in {@link chunkOf}. */
  endOf(slot: number): number {
    return this.end[slot]!
  }

  /** Drops the value of `slot`; a chunk left less than half live moves its survivors out. */
  release(slot: number): void {
    const c = this.table[this.chunkIds[slot]!]!
    const n = this.end[slot]! - this.start[slot]!
    this.chunkIds[slot] = 0
    this.bytes -= n
    c.live -= n
    if (c !== this.current && c.live * 2 < c.used) this.evacuate(c)
  }

  /** Forgets every value. */
  clear(): void {
    this.chunkIds.fill(0)
    this.table = [undefined]
    this.freeIds = []
    this.current = undefined
    this.bytes = 0
  }

  /** Copies `src[from, to)` into the current chunk (or a chunk of its own) for `slot`. */
  private place(slot: number, src: Uint8Array, from: number, to: number): void {
    const n = to - from
    let c: Chunk
    let full: Chunk | undefined
    if (n > OWN_CHUNK_BYTES) {
      c = this.numbered(new Chunk(uninitialized(n)))
    } else {
      c = this.current ?? this.newChunk()
      if (c.used + n > c.bytes.length) {
        full = c
        c = this.newChunk()
      }
    }
    const at = c.used
    c.bytes.set(from === 0 && to === src.length ? src : src.subarray(from, to), at)
    c.used = at + n
    c.live += n
    c.slots.push(slot)
    this.chunkIds[slot] = c.id
    this.start[slot] = at
    this.end[slot] = at + n
    // The chunk just filled may already be mostly dead.
    if (full !== undefined && full.live * 2 < full.used) this.evacuate(full)
  }

  private newChunk(): Chunk {
    this.current = this.numbered(new Chunk(uninitialized(CHUNK_BYTES)))
    return this.current
  }

  /** Gives `c` a free number in the table. */
  private numbered(c: Chunk): Chunk {
    c.id = this.freeIds.pop() ?? this.table.length
    this.table[c.id] = c
    return c
  }

  /**
   * Moves the values still held in `c` into the current chunk; `c` is then garbage and its
   * number free (no slot names it: numbers are unique among chunks with live values).
   */
  private evacuate(c: Chunk): void {
    const slots = c.slots
    c.slots = []
    for (const s of slots) {
      if (this.chunkIds[s] !== c.id) continue
      c.live -= this.end[s]! - this.start[s]!
      this.place(s, c.bytes, this.start[s]!, this.end[s]!)
    }
    this.table[c.id] = undefined
    this.freeIds.push(c.id)
  }

  private grow(slot: number): void {
    const cap = Math.max(1024, 2 ** Math.ceil(Math.log2(slot + 1)))
    const start = new Uint32Array(cap)
    start.set(this.start)
    const end = new Uint32Array(cap)
    end.set(this.end)
    const ids = new Uint32Array(cap)
    ids.set(this.chunkIds)
    this.start = start
    this.end = end
    this.chunkIds = ids
  }
}
