import type { Multiaddr } from '@multiformats/multiaddr'
import type { WireLimits } from '../replication/limits.js'
import type { LagSnapshot } from './lag-histogram.js'

/** Tuning of the mesh layer; every field has a default. */
export interface MeshOptions {
  /** A keyspace's batch is published once this old, ms (0: at the end of the current turn). @default 1 */
  flushDelayMs?: number
  /**
   * Shortest time between two batches of one node, ms: under a steady trickle of writes,
   * batches form instead of one signed message per write (signature checks dominate the
   * CPU cost of gossip). Adds at most this much lag; an idle node still flushes after
   * `flushDelayMs`. @default 10
   */
  minFlushIntervalMs?: number
  /** ...or once it holds this many bytes. @default 32_768 */
  flushBytes?: number
  /** Most bytes of batches handed to gossipsub and not yet sent; past it batches are dropped and counted. @default 8_388_608 */
  maxInflightBytes?: number
  /**
   * Most bytes of batches held while no peer subscribes to their keyspace (a fresh node's
   * first writes); they are sent when one does. Past it the oldest are dropped and
   * counted; anti-entropy repairs them. @default 4_194_304
   */
  maxHeldBytes?: number
  /** While batches are held, how often the node checks whether a subscriber can take them, ms. @default 10 */
  heldRetryMs?: number
  /**
   * A subscriber that missed a batch (its stream was not open yet) is reconciled by
   * anti-entropy this long after, ms (misses in that window share one session). @default 50
   */
  catchUpDelayMs?: number
  /** Peer RTT is measured this often, ms. @default 5_000 */
  pingIntervalMs?: number
  /** Known but disconnected peers are redialled this often, ms. @default 2_000 */
  redialIntervalMs?: number
  /** Read-through gives up on the mesh after this long, ms. @default 2_000 */
  lookupTimeoutMs?: number
  /**
   * How long the node granted a load lease (mesh-wide single flight) is waited for
   * before others load themselves, ms. @default 3_000
   */
  loadLeaseMs?: number
  /** Longest wait for libp2p to stop on close, ms. @default 3_000 */
  stopTimeoutMs?: number
  /** Anti-entropy runs with one peer this often (±20% jitter), ms; 0 turns the periodic runs off. @default 5_000 */
  syncIntervalMs?: number
  /** Most entries one anti-entropy round trip carries. @default 5_000 */
  syncMaxEntries?: number
  /**
   * Open every keyspace a peer subscribes to (up to `maxFollowedKeyspaces`), as a headless
   * node does: a sidecar serves whatever keyspaces its services use. @default false
   */
  followKeyspaces?: boolean
  /** Most keyspaces `followKeyspaces` opens. @default 64 */
  maxFollowedKeyspaces?: number
  /** Limits on replicated input. */
  limits?: Partial<WireLimits>
  /** Rewrites dialled addresses; set by the WAN simulator (`src/sim`), not by users. */
  dialRewrite?: (ma: Multiaddr) => Multiaddr
}

/** Defaults of {@link MeshOptions}. */
export const MESH_DEFAULTS = {
  flushDelayMs: 1,
  minFlushIntervalMs: 10,
  flushBytes: 32_768,
  maxInflightBytes: 8 * 1_048_576,
  maxHeldBytes: 4 * 1_048_576,
  heldRetryMs: 10,
  catchUpDelayMs: 50,
  pingIntervalMs: 5_000,
  redialIntervalMs: 2_000,
  lookupTimeoutMs: 2_000,
  loadLeaseMs: 3_000,
  stopTimeoutMs: 3_000,
  syncIntervalMs: 5_000,
  syncMaxEntries: 5_000,
  followKeyspaces: false,
  maxFollowedKeyspaces: 64,
}

/** Counters of the replication path. */
export interface MeshCounters {
  batchesOut: number
  recordsOut: number
  /** Batches gossipsub sent to no peer (the subscriber left meanwhile): repaired by anti-entropy. */
  batchesUnsent: number
  /** Batches held because no peer subscribed to their keyspace yet; sent when one does. */
  batchesHeld: number
  /** Batches not handed to gossipsub because the in-flight bound was reached. */
  batchesDropped: number
  recordsDropped: number
  publishErrors: number
  batchesIn: number
  recordsIn: number
  recordsApplied: number
  /** Rejected input, by reason. */
  rejected: Record<string, number>
  lookups: number
  lookupHits: number
  directWritesIn: number
  /** Anti-entropy sessions started, and those that found the peer in sync. */
  syncSessions: number
  syncInSync: number
  syncErrors: number
  /** Entries anti-entropy brought in / sent out. */
  syncPulled: number
  syncPushed: number
  /** Bytes of sync requests and responses this node initiated. */
  syncBytesOut: number
  syncBytesIn: number
}

/** A peer as `stats()` and `/status` show it. */
export interface PeerStats {
  id: string
  region: string | undefined
  /** EWMA of ping round trips, ms; undefined before the first ping. */
  rttMs: number | undefined
  /** Estimated cost of a request to this peer, ms: lower is better (region, RTT, failures). */
  score: number
  failures: number
}

/** Mesh figures of a node, as `cache.stats().mesh` returns them. */
export interface MeshStats {
  peerId: string
  addresses: string[]
  /** Connected peers per region. */
  peersByRegion: Record<string, number>
  /** Connected peers, best first. */
  peers: PeerStats[]
  replication: MeshCounters & { inflightBytes: number; heldBytes: number; queued: number }
  /** Peers cut off by `block` (partitions). */
  blockedPeers: string[]
  /** Replication lag (receive time minus write stamp) per origin region. */
  lagByRegion: Record<string, LagSnapshot>
}
