/**
 * The relay links' bounds and the counters they keep (src/mesh/relay-links.ts).
 * @module
 */

/** Bounds of the relay links (bytes; times in ms). */
export const RELAY_LINK_LIMITS = {
  /** Largest frame read or written; a frame is split before it grows past this. */
  maxFrameBytes: 4 * 1_048_576,
  /** Most bytes queued for one peer; past it the oldest items are dropped (anti-entropy repairs them). */
  maxQueuedBytes: 8 * 1_048_576,
  /** Longest wait to open a relay stream. */
  openTimeoutMs: 5_000,
  /** A frame still writing after this long is given up with its stream (checked each tick). */
  writeTimeoutMs: 5_000,
  /** Most relay streams a peer may open to this node (one is the norm; reconnects make more). */
  maxInboundStreams: 4,
} as const

/** Counters of the relay links, summed over peers. */
export interface RelayLinkCounters {
  framesOut: number
  framesIn: number
  itemsOut: number
  bytesOut: number
  bytesIn: number
  /** Items dropped because a peer's queue was full. */
  itemsDropped: number
  /** Frames that could not be written (the stream failed): their items are lost to anti-entropy. */
  framesFailed: number
  /**
   * Vouched batches not written because the peer's stream is of an older version
   * (`/meshcache/relay/2` or `/1`): anti-entropy brings them.
   */
  vouchedWithheld: number
}
