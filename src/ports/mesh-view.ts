/**
 * The whole mesh as one node sees it (`cache.admin.mesh.view()`, `GET /status/mesh`,
 * `meshcache status --mesh`): built from the small summary every member puts in its
 * member announcement (src/mesh/node-summary.ts), so reading it asks no peer anything.
 * Decision and sizes: docs/decisions/mesh-view.md.
 * @module
 */

/**
 * Why a member is flagged, a closed set:
 * - `no-summary`: known (by hello or announcement) but no summary received yet: it just
 *   joined, or it runs a version without summaries;
 * - `stale`: its last summary is older than 3.5 announce intervals (it is down, or cut
 *   off from this node);
 * - `catching-up`: (re)started and not caught up with the mesh yet (`cache.ready`);
 * - `clock-skewed`: its clock is flagged (more than 1 s off the mesh, or corrected by
 *   more than that): fix the host's time source;
 * - `refusing-writes`: its clock is too far off a majority of its peers and it refuses
 *   writes (`ERR_CLOCK_SKEW`);
 * - `lagging`: over the recent window, the p99 replication lag of writes from some
 *   region reached it above the lag bound (1 s);
 * - `dropping`: it dropped relay items over the recent window (a link's queue was full,
 *   or own writes were held with no peer): anti-entropy repairs them;
 * - `backlog`: more than 1,000 relay items queued and not yet written;
 * - `links-down`: some of its planned links (link plan and relay tree) are not connected.
 */
export type MeshMemberFlag =
  | 'no-summary'
  | 'stale'
  | 'catching-up'
  | 'clock-skewed'
  | 'refusing-writes'
  | 'lagging'
  | 'dropping'
  | 'backlog'
  | 'links-down'

/** One cell of the region x region lag matrix: writes of region `from` as received in region `to`. */
export interface RegionLag {
  /** Receiving region (a row of the matrix). */
  to: string
  /** Origin region of the writes (a column). */
  from: string
  /** Members of `to` whose summary reports writes from `from`. */
  nodes: number
  /** Writes received since those members started. */
  count: number
  /** Median lag (receive time minus write stamp) since they started, ms: a bucket's upper bound. */
  p50Ms: number
  /** 99th percentile since they started, ms (a bucket's upper bound, at most `maxMs`). */
  p99Ms: number
  /** Largest lag seen, ms. */
  maxMs: number
  /** Writes received over the recent window ({@link MeshView.recentWindowMs}). */
  recentCount: number
  /** Median lag over the recent window, ms; 0 when `recentCount` is 0. */
  recentP50Ms: number
  /** 99th percentile over the recent window, ms; 0 when `recentCount` is 0. */
  recentP99Ms: number
}

/** A member's clock, as it reported it (and as this node measured it, for its connected peers). */
export interface MemberClock {
  /** What the member adds to its raw clock to read the mesh median, ms. */
  correctionMs: number
  /** Its corrected clock minus that of a majority of its measured peers, ms. */
  meshOffsetMs: number
  /** Peers whose clock it measured. */
  peersMeasured: number
  /** True when its clock is flagged. */
  skewed: boolean
  /** True while it refuses writes for its clock. */
  refusingWrites: boolean
  /** Its raw clock minus this node's raw clock, as this node measured it (connected peers only), ms. */
  measuredOffsetMs?: number
}

/** A member's links, as it reported them. */
export interface MemberLinks {
  /** Links it should keep (link plan and relay tree). */
  planned: number
  /** Those connected. */
  connected: number
  /** Up to 8 peer ids of planned links that are not connected. */
  down: string[]
}

/** One member of the mesh in the view. */
export interface MeshMember {
  /** Peer id. */
  id: string
  /** Region it announced. */
  region: string
  /** True for the node that built the view. */
  self: boolean
  /** True when it says it is its region's relay hub. */
  hub: boolean
  /** Its relay tree parent (toward the hub), as it reported it. */
  parent?: string
  /** How old its summary is (time since it arrived here), ms; absent without a summary. */
  summaryAgeMs?: number
  /** False while it catches up after a (re)start. */
  ready?: boolean
  /** Its links. */
  links?: MemberLinks
  /** Its clock. */
  clock?: MemberClock
  /** Relay items it has queued and not yet written. */
  queuedItems?: number
  /** Relay items it dropped over the recent window. */
  droppedRecently?: number
  /** Why it is flagged (empty: all is well). */
  flags: MeshMemberFlag[]
  /** True when it is `catching-up`, `lagging`, `dropping` or `backlog`: it does not hold, or will not soon hold, what the others have. */
  behind: boolean
}

/**
 * A link to draw: `tree` (a member and its relay parent), `hubs` (two regions' hubs), or
 * `down` (a planned link its member reports not connected).
 */
export interface MeshEdge {
  /** One end (for `tree`, the child; for `down`, the member that reported it). */
  a: string
  /** The other end. */
  b: string
  /** What the link is. */
  kind: 'tree' | 'hubs' | 'down'
}

/** The whole mesh as one node sees it. */
export interface MeshView {
  /** Peer id of the node that built the view. */
  node: string
  /** Its region. */
  region: string
  /** When the view was built (the node's wall clock, ms since the epoch). */
  at: number
  /** The span of the `recent*` figures, ms. */
  recentWindowMs: number
  /** Every region with a member, sorted. */
  regions: string[]
  /** The lag matrix: one cell per (receiving, origin) region pair with writes, sorted by `to` then `from`. */
  lag: RegionLag[]
  /** Every member, sorted by region then id. */
  members: MeshMember[]
  /** Links to draw (relay tree, hubs, links down). */
  edges: MeshEdge[]
  /** Counts over `members`. */
  totals: {
    /** Members known. */
    members: number
    /** Members with a summary. */
    summarized: number
    /** Members with at least one flag. */
    flagged: number
    /** Members that are behind. */
    behind: number
  }
}
