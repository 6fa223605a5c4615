import { parseDuration } from '../duration.js'
import { InvalidOptionError } from '../errors.js'
import { unknownOption } from '../option-names.js'
import type { MeshOptions } from '../ports/mesh-options.js'
import { WIRE_LIMITS, type WireLimits } from '../replication/limits.js'

/** Defaults of {@link MeshOptions}; times in ms. */
export const MESH_DEFAULTS = {
  flushDelayMs: 0,
  minFlushIntervalMs: 10,
  wanFlushIntervalMs: 25,
  flushBytes: 32_768,
  maxHeldBytes: 4 * 1_048_576,
  pingIntervalMs: 5_000,
  redialIntervalMs: 2_000,
  lookupTimeoutMs: 2_000,
  loadLeaseMs: 3_000,
  stopTimeoutMs: 3_000,
  syncIntervalMs: 5_000,
  syncMaxEntries: 5_000,
  followKeyspaces: false,
  maxFollowedKeyspaces: 64,
  readyTimeoutMs: 5_000,
  localPeers: 6,
  remotePeers: 2,
  announceIntervalMs: 15_000,
  linkGraceMs: 10_000,
  verifyOrigins: 'relay' as 'relay' | 'every-node',
}

/** Fixed timings and sizes of the mesh layer (not options), ms unless named otherwise. */
export const MESH_CONSTANTS = {
  /**
   * Longest wait for a peer's hello answer, and for a dial (TCP, Noise, the muxer). Honest
   * peers answer in a round trip or two, but a host whose event loop runs seconds late (a
   * fleet joining at once on a saturated machine) takes a few of those turns per handshake:
   * at 5 s, most handshakes with a seed 2-4 s late were cut and dialled again, which kept
   * it late (issue 25, docs/decisions/join-under-load.md).
   */
  helloTimeoutMs: 10_000,
  connectTimeoutMs: 10_000,
  /**
   * Most dials in flight at once; the rest wait for a later pass. A node joining a fleet
   * wants 20-40 links at once, and on a saturated host every handshake of such a burst
   * outlived its timeout and was dialled again (docs/decisions/join-under-load.md).
   */
  dialsInFlight: 6,
  /** Longest wait for a ping answer. */
  dialTimeoutMs: 5_000,
  /** How long a link to another region's hub is up before this hub sends it batches without signatures. */
  vouchAfterConnectMs: 5_000,
  /** Longest wait before dialling again a peer not greeted yet that failed (membership's back-off). */
  bootstrapBackoffMaxMs: 10_000,
  /**
   * Each end of a link takes a clock sample at least every this many ping intervals,
   * whatever traffic the link carries (quiet links that are not settled are sampled every
   * interval anyway): clocks drift little in 40 s, and a clock that steps is measured again
   * at once (the node sees its own raw clock step against its monotonic clock). A settled
   * link is pinged this often and no more, unless it carried this node's writes and brought
   * nothing back (docs/decisions/idle-links.md).
   */
  timeSampleIntervals: 8,
  /**
   * A change of this node's clock correction by at least this much is news: every link
   * is pinged at the next round, so peers read its stamps right (busy links included).
   */
  correctionNewsMs: 100,
  /** A member list that changed is compared on every link after this delay (changes gather)... */
  memberNewsDelayMs: 250,
  /** ...and at most this often; a link exchanges member lists at most this often too. */
  memberNewsMinIntervalMs: 1_000,
  /** A redial asked for by a hello or an announcement waits this long (a burst gathers). */
  redialSoonMs: 100,
  /**
   * A redial pass that found every link connected and nothing to hang up on waits this many
   * `redialIntervalMs` for the next (a disconnection, a member learned or a new connection
   * bring one sooner).
   */
  settledRedialIntervals: 5,
  /**
   * A connection another member dialled that is not a link of this node's plan is closed
   * by the dialler after `linkGraceMs`; this node closes it only after this many times that.
   */
  inboundGraceFactor: 6,
  /** Longest wait for hanging up on a blocked peer. */
  hangUpTimeoutMs: 2_000,
  /** Longest wait for one anti-entropy round trip. */
  syncRequestTimeoutMs: 10_000,
  /** Most anti-entropy sessions in a row with one peer for one keyspace. */
  syncMaxSessions: 8,
  /**
   * Records received plus published per second at or above which a periodic anti-entropy
   * round waits for the flow to calm (one interval at most, then one session): roots then
   * differ by the writes in flight (docs/decisions/sync-pacing.md).
   */
  syncBusyRecordsPerSec: 20_000,
  /** Share of periodic anti-entropy sessions run with another region. */
  syncRemoteShare: 0.75,
  /** Peers asked on a local miss (best first, hedged). */
  lookupCandidates: 3,
  /** A lookup asks the next peer after this many RTTs of the current one... */
  lookupHedgeRtts: 1.5,
  /** ...but not sooner than this. */
  lookupMinHedgeMs: 3,
  /** RTT assumed for a peer not yet pinged, when hedging. */
  unknownRttMs: 10,
  /** RTT assumed for another region's peer not yet pinged, when weighing it against the loader. */
  unknownRemoteRttMs: 250,
  /** Extra wait for a lease answer beyond the lease itself. */
  leaseRequestSlackMs: 1_000,
  /** Nearest peers a keyspace opened on a running node warms up from. */
  warmUpPeers: 2,
  /** Longest wait on close for the relay frames still queued to be written. */
  closeDrainMs: 1_000,
  /**
   * How long close() lets a frame written just before it leave the sockets: a stream
   * write resolves when yamux queued it, and stopping libp2p at once dropped it on a busy
   * machine (found by the close() test under load).
   */
  closeLingerMs: 150,
  /** Flushes a node may make back to back before `minFlushIntervalMs` paces them. */
  flushBurst: 3,
  /** First member announcement after the start; the next ones double up to the interval. */
  firstAnnounceMs: 1_000,
  /** Announcements a joining node makes as its first peers connect. */
  earlyAnnounces: 3,
  /** Delay of such an announcement after a hello (the peer's subscriptions arrive first). */
  earlyAnnounceDelayMs: 300,
  /**
   * A mesh makes about this many member announcements per `announceIntervalMs` in all:
   * past this many members, each announces every `announceIntervalMs` x N / this, so what
   * a node receives in announcements does not grow with the mesh (issue 25).
   */
  announcesPerInterval: 15,
  /**
   * A periodic announcement (nothing new in it) waits up to this long at each hop for a
   * frame the link makes anyway (a ping, a batch), at most an eighth of the announce
   * interval: an idle node wakes for one frame of several announcements, not one each.
   */
  announceHoldMs: 5_000,
  /**
   * An item that may wait (a periodic announcement) waits this many times its hold on a
   * link to another region's hub: such a link carries only a region's share of them (one
   * in ~8 s per link at N = 25 in 10 regions), which a short hold joins to nothing. One such
   * hop per path (see `MESH_VIEW_CONSTANTS.staleAfterAnnounces`, docs/decisions/idle-links.md).
   */
  wanHoldFactor: 4,
  /** A member not connected and not announced for this many announce intervals is forgotten. */
  forgetAfterAnnounces: 4,
  /**
   * A planned relay neighbor disconnected (or failing dials) this long is taken for down:
   * the relay plan is rebuilt without it (a new hub, new tree), so writes route around it.
   */
  relayFailoverMs: 1_000,
  /**
   * The relay plan is rebuilt at most this often (ms) while the member list keeps changing:
   * one member (or a joining fleet) announcing thousands of members made each announcement
   * rebuild it, O(members) each (docs/decisions/hunt-fixes-2026-12.md).
   */
  relayPlanMinAgeMs: 100,
  /**
   * Most members a node keeps. Past it, members only heard of (another member's hello
   * list, a relayed announcement) are not added; a member that connects is. The topology
   * is property-tested at 10,000 (docs/decisions/topology.md).
   */
  maxMembers: 10_000,
} as const

/**
 * The mesh view (`GET /status/mesh`, src/mesh/mesh-view-board.ts): how each member's
 * summary is made and bounded, and when the view flags a member. Times in ms.
 * Decision and sizes: docs/decisions/mesh-view.md.
 */
export const MESH_VIEW_CONSTANTS = {
  /** The `recent*` lag figures and `droppedRecently` cover this span. */
  recentWindowMs: 30_000,
  /**
   * A summary older than this many announce intervals flags its member `stale`: two
   * announcements of a member leave up to 2.4 intervals apart when one is lost (each
   * interval jittered by up to 20 %), and a periodic one may wait on its way up to 3/4 of
   * an interval (docs/decisions/idle-links.md): one loss does not flag a live member.
   */
  staleAfterAnnounces: 3.5,
  /** A member whose recent p99 lag from some region is above this is `lagging`. */
  lagBehindMs: 1_000,
  /** A member with more relay items queued than this has a `backlog`. */
  backlogItems: 1_000,
  /** Most origin regions one summary lists (more are left out; a mesh has a handful). */
  maxRegions: 64,
  /** Most links down one summary names (it counts them all). */
  maxDownLinks: 8,
  /** Most snapshots of a node's own figures kept for the recent window (one per ping interval). */
  maxSnapshots: 64,
  /** Most summaries a node keeps (one per member; the oldest goes first past it). */
  maxSummaries: 4_096,
  /** A built view is served again for this long: page polls and CLI calls cost one build. */
  viewCacheMs: 1_000,
  /**
   * A change of a node's flags or relay role is announced at once (the view shows it in
   * about a ping interval instead of an announce interval), at most this often.
   */
  newsMinIntervalMs: 2_000,
} as const

/** {@link MeshOptions} with every default applied, times in ms. */
export type ResolvedMeshOptions = typeof MESH_DEFAULTS

const TIME_OPTIONS = new Set(Object.keys(MESH_DEFAULTS).filter((k) => k.endsWith('Ms')))
const KNOWN = new Set([...Object.keys(MESH_DEFAULTS), 'limits', 'dialRewrite'])

/**
 * Applies defaults to mesh options and checks them: unknown names, wrong types and
 * negative values throw.
 * @throws InvalidOptionError naming the option and what it accepts
 */
export function resolveMeshOptions(options: MeshOptions = {}): {
  opts: ResolvedMeshOptions
  limits: WireLimits
} {
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw new InvalidOptionError('mesh must be an object of mesh options')
  const opts: Record<string, unknown> = { ...MESH_DEFAULTS }
  for (const [name, value] of Object.entries(options)) {
    if (!KNOWN.has(name)) {
      throw unknownOption(
        name,
        [...KNOWN].filter((k) => k !== 'dialRewrite'),
        'mesh',
      )
    }
    if (value === undefined || name === 'limits' || name === 'dialRewrite') continue
    if (TIME_OPTIONS.has(name)) {
      opts[name] = parseDuration(value as number | string, `mesh.${name}`)
    } else if (name === 'verifyOrigins') {
      if (value !== 'relay' && value !== 'every-node')
        throw new InvalidOptionError(
          `mesh.verifyOrigins must be 'relay' or 'every-node', got ${String(value)}`,
        )
      opts[name] = value
    } else if (typeof MESH_DEFAULTS[name as keyof ResolvedMeshOptions] === 'boolean') {
      if (typeof value !== 'boolean')
        throw new InvalidOptionError(`mesh.${name} must be true or false, got ${String(value)}`)
      opts[name] = value
    } else {
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)
        throw new InvalidOptionError(
          `mesh.${name} must be a positive integer, got ${String(value)}`,
        )
      opts[name] = value
    }
  }
  const limits = { ...WIRE_LIMITS }
  for (const [name, value] of Object.entries(options.limits ?? {})) {
    if (!(name in WIRE_LIMITS)) throw unknownOption(name, Object.keys(WIRE_LIMITS), 'mesh.limits')
    if (value === undefined) continue
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)
      throw new InvalidOptionError(
        `mesh.limits.${name} must be a positive integer, got ${String(value)}`,
      )
    limits[name as keyof WireLimits] = value
  }
  if (options.dialRewrite !== undefined && typeof options.dialRewrite !== 'function')
    throw new InvalidOptionError('mesh.dialRewrite must be a function')
  return { opts: opts as ResolvedMeshOptions, limits }
}
