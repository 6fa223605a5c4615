import type { Multiaddr } from '@multiformats/multiaddr'
import type { Duration } from '../duration.js'
import type { WireLimits } from '../replication/limits.js'
import type { RejectCounts } from '../replication/reject-codes.js'

/**
 * Tuning of the mesh layer; every field has a default (`MESH_DEFAULTS` in
 * `src/mesh/defaults.ts`). Times (`...Ms`) take ms or a duration string ('5s').
 */
export interface MeshOptions {
  /** A keyspace's batch is published once this old, ms (0: at the end of the current turn, so a lone write leaves at once). @default 0 */
  flushDelayMs?: Duration
  /**
   * Pacing of batches, ms: a node earns one flush every this many ms (up to three in
   * reserve). A write that finds one leaves at once; under load writes wait for the next
   * and form batches; each relay link likewise sends at most about one frame per interval,
   * so messages per second stay bounded (signatures and per-message framing dominate the
   * CPU cost of replication). @default 10
   */
  minFlushIntervalMs?: Duration
  /**
   * Pacing of relay frames to another region's node, ms: a link that sent a frame less
   * than this long ago holds what comes next until the interval is over, then sends it
   * all as one frame. A quiet link sends at once; a busy one carries at most one frame
   * per interval, so items share frames (what a frame costs, the sender's socket write
   * and encryption and the receiver's read, is paid per frame, not per item), for at most
   * this much lag on the WAN hop. Control messages (pings) are not held. @default 25
   */
  wanFlushIntervalMs?: Duration
  /** ...or once it holds this many bytes. @default 32_768 */
  flushBytes?: number
  /**
   * Most same-region peers a node keeps connections to; a region of up to `localPeers + 1`
   * nodes is fully connected. With {@link remotePeers} it bounds a node's connections
   * whatever the size of the mesh (docs/operations.md: sizing). @default 6
   */
  localPeers?: number
  /**
   * Peers a node links to in each other region: a write reaches each region in one WAN
   * hop through the writer's links and fans out inside the region. @default 2
   */
  remotePeers?: number
  /**
   * How often a node announces itself (id, region, addresses) to the mesh; a member not
   * heard of for four intervals, and not connected, is forgotten. @default 15_000
   */
  announceIntervalMs?: Duration
  /**
   * A connection to a member that is not one of this node's links (a joining node's
   * bootstrap peer, a link of an older member list) is closed once it is this old.
   * @default 10_000
   */
  linkGraceMs?: Duration
  /**
   * Most bytes of this node's batches held while it has no peer to send them to (a fresh
   * node's first writes); they leave when one connects. Past it the oldest are dropped
   * and counted; anti-entropy repairs them. @default 4_194_304
   */
  maxHeldBytes?: number
  /**
   * Where origins' signatures are checked. `'relay'`: at most once on an item's way, by
   * the hub of the writer's region when the writer did not hand it over itself, and where
   * it crosses the WAN from anyone but that hub (links are authenticated members; a hub
   * vouches for its region's items); `'every-node'`: every node checks every item it did
   * not get from its writer (end-to-end, ~100 µs per batch per node). docs/security.md
   * has the trust model.
   * @default 'relay'
   */
  verifyOrigins?: 'relay' | 'every-node'
  /**
   * A quiet link gets one control exchange (RTT, clock sample, digest roots) this often, ms;
   * a link that carried frames within it needs none. @default 5_000
   */
  pingIntervalMs?: Duration
  /** Known but disconnected peers are redialled this often, ms. @default 2_000 */
  redialIntervalMs?: Duration
  /** Read-through gives up on the mesh after this long, ms. @default 2_000 */
  lookupTimeoutMs?: Duration
  /**
   * How long the node granted a load lease (mesh-wide single flight) is waited for
   * before others load themselves, ms. @default 3_000
   */
  loadLeaseMs?: Duration
  /** Longest wait for libp2p to stop on close, ms. @default 3_000 */
  stopTimeoutMs?: Duration
  /** Anti-entropy runs with one peer this often (±20% jitter), ms; 0 turns the periodic runs off. @default 5_000 */
  syncIntervalMs?: Duration
  /** Most entries one anti-entropy round trip carries. @default 5_000 */
  syncMaxEntries?: number
  /**
   * Open every keyspace peers write to (up to `maxFollowedKeyspaces`), as a headless
   * node does: a sidecar serves whatever keyspaces its services use. @default false
   */
  followKeyspaces?: boolean
  /** Most keyspaces `followKeyspaces` opens. @default 64 */
  maxFollowedKeyspaces?: number
  /**
   * A (re)started node is ready once it ran one anti-entropy round with a peer of every
   * region it reaches, or after this long. @default 5_000
   */
  readyTimeoutMs?: Duration
  /** Limits on replicated input. */
  limits?: Partial<WireLimits>
  /** Rewrites dialled addresses; set by the WAN simulator (`src/sim`), not by users. */
  dialRewrite?: (ma: Multiaddr) => Multiaddr
}

/** Counters of the replication path. */
export interface MeshCounters {
  /** Batches this node published. */
  batchesOut: number
  /**
   * Bytes of replicated items sent to peers of other regions (each copy counted; link
   * control exchanges left out): the WAN cost of replication.
   */
  wanBytesOut: number
  /** Writes in those batches. */
  recordsOut: number
  /** Own batches held now because no peer was connected; sent when one connects. */
  batchesHeld: number
  /** Batches dropped: held past `maxHeldBytes`, or queued past a link's bound (anti-entropy repairs them). */
  batchesDropped: number
  /** Relayed items received that were already had (dropped before any decode). */
  duplicates: number
  /** Items this node passed on to its relay neighbors. */
  relayed: number
  /** Bytes of relay frames sent (every link, this node's items and those it relays). */
  bytesOut: number
  /** Frames sent on relay links. */
  framesOut: number
  /** Frames received on relay links. */
  framesIn: number
  /** Frames a relay link failed to write (their items are left to anti-entropy). */
  framesFailed: number
  /** Batches received from other nodes. */
  batchesIn: number
  /** Writes in those batches. */
  recordsIn: number
  /** Received writes that changed this replica. */
  recordsApplied: number
  /** Refused input, by reason code (a closed set). */
  rejected: RejectCounts
  /** Misses that asked peers (read-through). */
  lookups: number
  /** ...and that a peer served. */
  lookupHits: number
  /** Direct writes received for `ack: 'peer' | 'quorum'`. */
  directWritesIn: number
  /**
   * Origin signatures this node checked on relayed items (batches and member
   * announcements): where `verifyOrigins` says they are due (~70-110 µs each).
   */
  signaturesChecked: number
  /**
   * Copies of write batches this hub sent to other regions' hubs without their origin's
   * signature, vouching for them (one per hub: docs/decisions/vouched-batches.md).
   */
  vouchedOut: number
  /**
   * Batches without a signature not passed to a neighbor that does not take them (it
   * checks signatures, or speaks an older relay version): anti-entropy brings them.
   */
  vouchedWithheld: number
  /** Anti-entropy sessions started, and those that found the peer in sync. */
  syncSessions: number
  /** Sessions that found the peer in sync (one round trip). */
  syncInSync: number
  /** Periodic rounds that waited (a step each) because writes flowed fast. */
  syncDeferred: number
  /** Sessions that failed (peer gone, timeout, malformed answer). */
  syncErrors: number
  /** Entries anti-entropy brought in / sent out. */
  syncPulled: number
  /** Entries anti-entropy sent to peers. */
  syncPushed: number
  /** Bytes of sync requests and responses this node initiated. */
  syncBytesOut: number
  /** Bytes of the responses to those requests. */
  syncBytesIn: number
}

/** A snapshot of one lag histogram, Prometheus-shaped (cumulative counts per upper bound). */
export interface LagSnapshot {
  /** Writes observed. */
  count: number
  /** Sum of their lags, ms. */
  sumMs: number
  /** Largest lag seen, ms. */
  maxMs: number
  /** Estimated percentiles: the upper bound of the bucket holding the rank. */
  p50Ms: number
  /** Estimated 99th percentile, ms (upper bound of its bucket). */
  p99Ms: number
  /** [upper bound ms, cumulative count]; the last bound is Infinity. */
  buckets: [number, number][]
}

/**
 * A stage of a write's way to a remote replica (`stats().mesh.stages`): on the writer
 * `queue`, `encode`, `send`; on the receiver `transit`, `verify`, `apply`.
 */
export type TraceStage = 'queue' | 'encode' | 'send' | 'transit' | 'verify' | 'apply'

/** A peer as `stats()` and `/status` show it. */
export interface PeerStats {
  /** Peer id. */
  id: string
  /** Region the peer announced; undefined before its hello. */
  region: string | undefined
  /** EWMA of link-control round trips, ms; undefined before the first. */
  rttMs: number | undefined
  /** Estimated cost of a request to this peer, ms: lower is better (region, RTT, failures). */
  score: number
  /** Failed requests or pings since the last success. */
  failures: number
  /** The peer's clock minus this node's raw clock, ms (NTP-style estimate); absent before the first exchange. */
  clockOffsetMs?: number
  /** The correction the peer applies to its own clock, ms, as it reported it; absent before the first exchange, and from older nodes. */
  clockCorrectionMs?: number
  /** True when the peer's own clock is off this node's (the mesh's) by more than 1 s: its host's time source needs fixing. */
  clockSkewed?: boolean
  /** Keyspaces whose `maxTtl` differs on this peer (not replicated with it): fix the configuration. */
  configMismatch?: string[]
}

/**
 * This node's clock against the mesh, as `stats().mesh.clock` shows it (docs/consistency.md,
 * "Clocks"). The fields after `peersMeasured` come from `ClockOffsets.stats()`.
 */
export interface ClockStats {
  /** What this node adds to its raw clock to read the mesh median clock, ms. */
  correctionMs: number
  /**
   * True when this node's clock is flagged: corrected by more than 1 s, or more than 1 s
   * off a majority of its measured peers: fix this host's time source.
   */
  skewed: boolean
  /** Peers whose clock offset is known. */
  peersMeasured: number
  /** True when a strict majority of clocks (this node's and its measured peers') back the correction; false while it is held. */
  agreed?: boolean
  /**
   * True while this node refuses writes (`ClockSkewError`, HTTP 503 `ERR_CLOCK_SKEW`,
   * `/health/ready` 503): its clock is more than `maxClockDrift` off a majority of its
   * measured peers and no majority agrees on a correction.
   */
  refusingWrites?: boolean
  /** This node's corrected clock minus that of a majority of its measured peers, ms (0: within the measurement uncertainty). */
  meshOffsetMs?: number
  /** What is wrong and what to do, when `skewed`. */
  reason?: string
}

/** Mesh figures of a node, as `cache.stats().mesh` returns them. */
export interface MeshStats {
  /** This node's peer id. */
  peerId: string
  /** Multiaddrs this node listens on. */
  addresses: string[]
  /** Connected peers per region. */
  peersByRegion: Record<string, number>
  /** Connected peers, best first. */
  peers: PeerStats[]
  /** Replication counters, with the writes and relay items queued now. */
  replication: MeshCounters & {
    /** Writes queued for the next batch. */
    queued: number
    /** Items queued on relay links and not yet written. */
    queuedItems: number
  }
  /** Peers cut off by `block` (partitions). */
  blockedPeers: string[]
  /** This node's clock against the mesh median. */
  clock: ClockStats
  /** Replication lag (receive time minus write stamp) per origin region. */
  lagByRegion: Record<string, LagSnapshot>
  /**
   * Where the lag goes, per batch: this node's own batches (`queue`, `encode`, `send`) and
   * the batches it received (`transit`, `verify`, `apply`), ms.
   */
  stages: Record<TraceStage, LagSnapshot>
  /** The links this node keeps (every member in a full mesh; bounded by `localPeers` and `remotePeers` otherwise). */
  links: LinkStats
}

/** The links a node keeps, as `stats().mesh.links` shows them. */
export interface LinkStats {
  /** True when every member links every other (small meshes). */
  fullMesh: boolean
  /** Members known, this node included (those whose region is known). */
  members: number
  /** Same-region links (peer ids). */
  local: string[]
  /** Links per other region (peer ids). */
  remote: Record<string, string[]>
  /** Where this node relays replicated items: its region's hub, its tree neighbors, the other hubs. */
  relay: {
    /** Peer id of this region's hub (this node's own id when it is the hub). */
    hub: string | undefined
    /** Tree parent in this region (undefined for the hub). */
    parent: string | undefined
    /** Tree children in this region. */
    children: string[]
    /** Hubs of the other regions (only the hub links to them). */
    peerHubs: string[]
  }
}
