import type { Entry } from '../store/entry.js'
import type { EntryTable } from '../store/entry-table.js'

/**
 * The last `capacity` values that expired in a keyspace, for stale-while-revalidate and
 * stale-if-error only (never served by `get`): a ring of columns, the oldest overwritten
 * first, with one small map from key to ring position. Filled from the entry table's
 * expiring slot by copying its columns, so an expiry allocates nothing: the sweep of a
 * mass expiry (1M keys) passes every value through here. A value the table held as bytes
 * stays bytes here (a reference to its chunk: at most `capacity` chunks kept alive),
 * decoded if asked for. Whoever reads checks the age
 * (the ring keeps no clock). Pure.
 */
export class RecentlyExpired<V> {
  private readonly keys: (string | undefined)[]
  private readonly values: (V | undefined)[]
  /** For a value kept as bytes: the chunk holding them, and where they are in it. */
  private readonly chunks: (Uint8Array | undefined)[]
  private readonly from: Uint32Array
  private readonly to: Uint32Array
  private readonly wall: Float64Array
  private readonly logical: Float64Array
  private readonly node: string[]
  private readonly expiresAt: Float64Array
  private readonly size: Uint32Array
  private readonly tags: (readonly string[] | undefined)[]
  private readonly at = new Map<string, number>()
  /** The next position written. */
  private head = 0

  /**
   * @param capacity - most values kept (a positive integer)
   * @param decode - turns kept bytes (`bytes[start, end)`) into the value (throws on bytes it cannot read)
   */
  constructor(
    private readonly capacity: number,
    private readonly decode: (bytes: Uint8Array, start: number, end: number) => V,
  ) {
    this.keys = new Array<string | undefined>(capacity).fill(undefined)
    this.values = new Array<V | undefined>(capacity).fill(undefined)
    this.chunks = new Array<Uint8Array | undefined>(capacity).fill(undefined)
    this.from = new Uint32Array(capacity)
    this.to = new Uint32Array(capacity)
    this.wall = new Float64Array(capacity)
    this.logical = new Float64Array(capacity)
    this.node = new Array<string>(capacity).fill('')
    this.expiresAt = new Float64Array(capacity)
    this.size = new Uint32Array(capacity)
    this.tags = new Array<readonly string[] | undefined>(capacity).fill(undefined)
  }

  /** Values held. */
  get count(): number {
    return this.at.size
  }

  /** Keeps the value in `slot` of `table`, which is expiring, as `key`'s latest. */
  add(key: string, table: EntryTable<V>, slot: number): void {
    const i = this.head
    this.head = i + 1 === this.capacity ? 0 : i + 1
    const old = this.keys[i]
    // The old key may have expired again since, at another position.
    if (old !== undefined && this.at.get(old) === i) this.at.delete(old)
    const prior = this.at.get(key)
    if (prior !== undefined) this.clear(prior)
    this.keys[i] = key
    if (table.isEncoded(slot)) {
      // Not decoded for this: a mass expiry passes every value through here.
      const held = table.encoded
      this.values[i] = undefined
      this.chunks[i] = held.chunkOf(slot)
      this.from[i] = held.startOf(slot)
      this.to[i] = held.endOf(slot)
    } else {
      this.values[i] = table.valueAt(slot)
      this.chunks[i] = undefined
    }
    this.wall[i] = table.wallOf(slot)
    this.logical[i] = table.logicalOf(slot)
    this.node[i] = table.nodeOf(slot)
    this.expiresAt[i] = table.expiryOf(slot)
    this.size[i] = table.size[slot]!
    this.tags[i] = table.tagsOf(slot)
    this.at.set(key, i)
  }

  /** The expired entry last kept for `key`, built on demand, or undefined. */
  get(key: string): Entry<V> | undefined {
    const i = this.at.get(key)
    if (i === undefined) return undefined
    const chunk = this.chunks[i]
    if (chunk !== undefined) {
      try {
        this.values[i] = this.decode(chunk, this.from[i]!, this.to[i]!)
      } catch {
        this.at.delete(key)
        this.clear(i)
        return undefined
      }
      this.chunks[i] = undefined
    }
    const version = { wall: this.wall[i]!, logical: this.logical[i]!, node: this.node[i]! }
    const base = {
      value: this.values[i],
      version,
      expiresAt: this.expiresAt[i]!,
      tombstone: false,
      size: this.size[i]!,
    }
    const tags = this.tags[i]
    return tags === undefined ? base : { ...base, tags }
  }

  private clear(i: number): void {
    this.keys[i] = undefined
    this.values[i] = undefined
    this.chunks[i] = undefined
    this.tags[i] = undefined
  }
}
