/**
 * What waits to be written to one peer on its relay link: items in order, bounded in
 * bytes, taken a frame at a time (src/mesh/relay-links.ts writes them). Knows no stream.
 * @module
 */
import { MAX_COMPACT_EXCESS } from '../replication/compact-frame.js'
import { ITEM_KIND, itemBytes, type RelayItem } from '../replication/relay-frame.js'
import { RELAY_LINK_LIMITS } from './relay-link-limits.js'

/** Bytes an item may take in a frame: a vouched batch this node stripped may go signed. */
const queuedBytes = (item: RelayItem): number => itemBytes(item.signed ?? item)

/** One peer's queued items, oldest first, at most `maxQueuedBytes` (the oldest dropped past it). */
export class RelayQueue {
  private items: RelayItem[] = []
  private bytes = 0

  constructor(private readonly maxQueuedBytes = RELAY_LINK_LIMITS.maxQueuedBytes) {}

  /** Items waiting. */
  get length(): number {
    return this.items.length
  }

  /** Bytes the waiting items take in a frame of version 1 (a stripped batch counted signed). */
  get bytesQueued(): number {
    return this.bytes
  }

  /** Queues `item`; returns how many of the oldest items were dropped to stay in bounds. */
  push(item: RelayItem): number {
    this.items.push(item)
    this.bytes += queuedBytes(item)
    let dropped = 0
    while (this.bytes > this.maxQueuedBytes && this.items.length > 1) {
      this.bytes -= queuedBytes(this.items.shift()!)
      dropped++
    }
    return dropped
  }

  /**
   * Takes the items of one frame: at least one, at most `maxFrameBytes` whichever version
   * the stream speaks (a compact item is at most {@link MAX_COMPACT_EXCESS} bytes over
   * version 1's).
   */
  take(maxFrameBytes = RELAY_LINK_LIMITS.maxFrameBytes): RelayItem[] {
    let bytes = 1
    let n = 0
    while (n < this.items.length) {
      const b = queuedBytes(this.items[n]!) + MAX_COMPACT_EXCESS
      if (n > 0 && bytes + b > maxFrameBytes) break
      bytes += b
      n++
    }
    this.bytes -= bytes - 1 - n * MAX_COMPACT_EXCESS
    return this.items.splice(0, n)
  }
}

/**
 * `items` as a stream of an older version may carry them (`vouched` false: the stream
 * speaks `/meshcache/relay/2` or `/1`): a vouched batch this node stripped goes signed, one
 * it got without a signature is left out. Returns the items to write and how many were
 * left out.
 */
export function writableItems(
  items: RelayItem[],
  vouched: boolean,
): { items: RelayItem[]; withheld: number } {
  if (vouched || !items.some((i) => i.kind === ITEM_KIND.vouched)) return { items, withheld: 0 }
  const out: RelayItem[] = []
  let withheld = 0
  for (const i of items) {
    if (i.kind !== ITEM_KIND.vouched) out.push(i)
    else if (i.signed !== undefined) out.push(i.signed)
    else withheld++
  }
  return { items: out, withheld }
}
