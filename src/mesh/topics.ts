/** The protocols of a meshcache node, each on libp2p streams. */
export const PROTOCOLS = {
  /** Region and membership exchange on every new connection. */
  hello: '/meshcache/hello/1',
  /** Replication: one long-lived stream per link carrying frames of relayed items (version 1 frames: a peer that speaks nothing newer). */
  relay: '/meshcache/relay/1',
  /** The same with compact frames (origin table per stream, varints: replication/compact-frame.ts); offered first. */
  relayCompact: '/meshcache/relay/2',
  /**
   * Compact frames that may also carry vouched batches (item kind 4, a batch without its
   * origin's signature: docs/decisions/vouched-batches.md); offered first. A stream of an
   * older version never carries one.
   */
  relayVouched: '/meshcache/relay/3',
  /** Read-through: the nearest peers are asked for a key on a local miss. */
  get: '/meshcache/get/1',
  /** Direct write for `ack: 'peer' | 'quorum'`: the receiver applies, then answers. */
  write: '/meshcache/write/1',
  /** Anti-entropy: digest comparison and repair. */
  sync: '/meshcache/sync/1',
} as const
