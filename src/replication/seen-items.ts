/** Defaults of {@link SeenItems}. */
export const SEEN_DEFAULTS = {
  /** Sequence numbers remembered behind an origin's highest: older ones count as seen. */
  window: 1_024,
  /** Origins remembered; past it the least recently heard is forgotten. */
  maxOrigins: 16_384,
} as const

interface OriginWindow {
  incarnation: number
  /** Highest sequence number seen. */
  high: number
  /** Bit i: sequence number `high - i` was seen. */
  bits: Uint32Array
}

/**
 * Which relayed items this node has already had, by (origin, incarnation, sequence
 * number): the duplicate filter that runs before any decode or signature check. Per
 * origin it keeps its newest incarnation and a sliding window of sequence numbers; an
 * item of an older incarnation, or older than the window, counts as seen (anti-entropy
 * repairs what such a straggler carried). Pure.
 */
export class SeenItems {
  private readonly origins = new Map<string, OriginWindow>()
  private readonly window: number
  private readonly maxOrigins: number

  constructor(options: { window?: number; maxOrigins?: number } = {}) {
    this.window = options.window ?? SEEN_DEFAULTS.window
    this.maxOrigins = options.maxOrigins ?? SEEN_DEFAULTS.maxOrigins
  }

  /** Origins remembered. */
  get size(): number {
    return this.origins.size
  }

  /**
   * Whether an item counts as already had (a duplicate, or a straggler of an older
   * incarnation or behind the window), without recording anything: the caller records
   * it with {@link admit} only once it passed its checks, so an unverified item cannot
   * make the genuine ones look seen.
   */
  has(origin: string, incarnation: number, seq: number): boolean {
    const w = this.origins.get(origin)
    if (w === undefined || incarnation > w.incarnation) return false
    if (incarnation < w.incarnation) return true
    if (seq > w.high) return false
    const back = w.high - seq
    if (back >= this.window) return true
    return (w.bits[back >>> 5]! & (1 << (back & 31))) !== 0
  }

  /**
   * Records an item. @returns true when it is new (first time seen), false for a duplicate
   * or a straggler
   */
  admit(origin: string, incarnation: number, seq: number): boolean {
    let w = this.origins.get(origin)
    if (w === undefined || incarnation > w.incarnation) {
      if (w === undefined && this.origins.size >= this.maxOrigins)
        this.origins.delete(this.origins.keys().next().value!)
      w = { incarnation, high: 0, bits: new Uint32Array(Math.ceil(this.window / 32)) }
      this.origins.delete(origin)
      this.origins.set(origin, w)
    } else if (incarnation < w.incarnation) {
      return false
    }
    if (seq > w.high) {
      this.shift(w, seq - w.high)
      w.high = seq
      w.bits[0]! |= 1
      return true
    }
    const back = w.high - seq
    if (back >= this.window) return false
    const word = back >>> 5
    const bit = 1 << (back & 31)
    if ((w.bits[word]! & bit) !== 0) return false
    w.bits[word]! |= bit
    return true
  }

  /** Moves the window forward by `n` sequence numbers. */
  private shift(w: OriginWindow, n: number): void {
    const bits = w.bits
    if (n >= this.window) {
      bits.fill(0)
      return
    }
    const words = n >>> 5
    const r = n & 31
    for (let i = bits.length - 1; i >= 0; i--) {
      const src = i - words
      const hi = src >= 0 ? bits[src]! : 0
      const lo = src - 1 >= 0 ? bits[src - 1]! : 0
      bits[i] = r === 0 ? hi : ((hi << r) | (lo >>> (32 - r))) >>> 0
    }
  }
}
