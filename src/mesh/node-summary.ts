/**
 * A node's summary of itself for the mesh view: its relay role, clock, links, relay queue
 * and replication lag per origin region, small enough to ride in every member
 * announcement (a few hundred bytes; docs/decisions/mesh-view.md has the sizes). Pure:
 * how it is made from a node's stats, written to the wire and read back.
 *
 *     summary := [1, bits, parent | null, [correctionMs, meshOffsetMs, peersMeasured],
 *                 [planned, connected, [downId...]], [queuedItems, held, dropped],
 *                 [[originRegion, totalSparse, recentSparse, maxMs]...]]
 *     bits    := 1 ready | 2 hub | 4 clock skewed | 8 refusing writes
 *     sparse  := [bucketIndex, count, ...]   (buckets of LAG_BUCKETS_MS, ascending, counts > 0)
 *
 * A summary comes from another node: {@link readSummary} checks every field and bound and
 * returns undefined for anything else; it never throws.
 * @module
 */
import type { MeshStats } from '../ports/mesh-options.js'
import { NAME_RE } from '../replica/keyspace-options.js'
import { MESH_VIEW_CONSTANTS } from './defaults.js'
import { LAG_BUCKETS_MS } from './lag-histogram.js'

/** Wire format of a summary (its first element). */
export const SUMMARY_FORMAT = 1

/** Buckets of a lag histogram: those of `LAG_BUCKETS_MS` and the +Inf one. */
export const LAG_BUCKETS = LAG_BUCKETS_MS.length + 1

const BIT = { ready: 1, hub: 2, skewed: 4, refusing: 8 } as const
/** Peer ids in text form (base58btc or base32 CIDs): letters and digits. */
const PEER_ID_RE = /^[A-Za-z0-9]{1,128}$/
/** Bound on reported figures: anything larger is garbage, not a measurement. */
const MAX_FIGURE = 1e12

/** Writes received from one origin region, by lag bucket. */
export interface RegionLagCounts {
  /** Origin region. */
  region: string
  /** Writes per bucket ({@link LAG_BUCKETS} entries) since the node started. */
  total: number[]
  /** Writes per bucket over the recent window. */
  recent: number[]
  /** Largest lag seen since the node started, ms. */
  maxMs: number
}

/** What a node tells the mesh about itself. */
export interface NodeSummary {
  /** Caught up after its (re)start. */
  ready: boolean
  /** Its region's relay hub. */
  hub: boolean
  /** Relay tree parent; undefined for a hub (or before any member is known). */
  parent: string | undefined
  /** Its clock is flagged. */
  clockSkewed: boolean
  /** It refuses writes for its clock. */
  refusingWrites: boolean
  /** Correction and offset (ms, rounded) and peers measured. */
  clock: { correctionMs: number; meshOffsetMs: number; peersMeasured: number }
  /** Planned links, those connected, and some of those that are not. */
  links: { planned: number; connected: number; down: string[] }
  /** Relay items queued now, own items held for lack of a peer, items dropped over the recent window. */
  relay: { queuedItems: number; held: number; dropped: number }
  /** Lag per origin region. */
  lag: RegionLagCounts[]
}

/** Cumulative figures at one instant: where the recent window starts. */
export interface SummaryBaseline {
  /** Per-bucket counts per origin region. */
  lag: ReadonlyMap<string, readonly number[]>
  /** Relay items dropped since the start. */
  dropped: number
}

/** Per-bucket counts of a stats lag snapshot (whose buckets are cumulative). */
export function bucketCounts(buckets: readonly [number, number][]): number[] {
  const out = new Array<number>(LAG_BUCKETS).fill(0)
  let prev = 0
  for (let i = 0; i < LAG_BUCKETS && i < buckets.length; i++) {
    const c = buckets[i]![1]
    out[i] = Math.max(0, c - prev)
    prev = c
  }
  return out
}

/** What a baseline needs of a node's stats: cumulative counts per origin region, and drops. */
export function baselineOf(stats: MeshStats): SummaryBaseline {
  const lag = new Map<string, number[]>()
  for (const [region, snap] of Object.entries(stats.lagByRegion))
    lag.set(region, bucketCounts(snap.buckets))
  return { lag, dropped: stats.replication.batchesDropped }
}

/**
 * This node's summary from its stats. `planned`: the members it should be connected to
 * (link plan and relay tree); `baseline`: its figures at the start of the recent window.
 */
export function summarize(
  stats: MeshStats,
  ready: boolean,
  planned: ReadonlySet<string>,
  baseline: SummaryBaseline | undefined,
): NodeSummary {
  const connected = new Set(stats.peers.map((p) => p.id))
  const down: string[] = []
  let up = 0
  for (const id of planned) {
    if (connected.has(id)) up++
    else if (down.length < MESH_VIEW_CONSTANTS.maxDownLinks) down.push(id)
  }
  const lag: RegionLagCounts[] = []
  for (const [region, snap] of Object.entries(stats.lagByRegion)) {
    if (lag.length >= MESH_VIEW_CONSTANTS.maxRegions) break
    const total = bucketCounts(snap.buckets)
    const before = baseline?.lag.get(region)
    const recent = total.map((c, i) => Math.max(0, c - (before?.[i] ?? 0)))
    lag.push({ region, total, recent, maxMs: Math.ceil(snap.maxMs) })
  }
  const relay = stats.links.relay
  const clock = stats.clock
  return {
    ready,
    hub: relay.hub !== undefined && relay.hub === stats.peerId,
    parent: relay.parent,
    clockSkewed: clock.skewed,
    refusingWrites: clock.refusingWrites === true,
    clock: {
      correctionMs: Math.round(clock.correctionMs),
      meshOffsetMs: Math.round(clock.meshOffsetMs ?? 0),
      peersMeasured: clock.peersMeasured,
    },
    links: { planned: planned.size, connected: up, down },
    relay: {
      queuedItems: stats.replication.queuedItems,
      held: stats.replication.batchesHeld,
      dropped: Math.max(0, stats.replication.batchesDropped - (baseline?.dropped ?? 0)),
    },
    lag,
  }
}

/** Nonzero buckets as `[index, count, ...]`. */
function sparse(counts: readonly number[]): number[] {
  const out: number[] = []
  for (let i = 0; i < counts.length; i++) if (counts[i]! > 0) out.push(i, counts[i]!)
  return out
}

/** The summary as it travels (msgpack-ready arrays). */
export function writeSummary(s: NodeSummary): unknown[] {
  const bits =
    (s.ready ? BIT.ready : 0) |
    (s.hub ? BIT.hub : 0) |
    (s.clockSkewed ? BIT.skewed : 0) |
    (s.refusingWrites ? BIT.refusing : 0)
  return [
    SUMMARY_FORMAT,
    bits,
    s.parent ?? null,
    [s.clock.correctionMs, s.clock.meshOffsetMs, s.clock.peersMeasured],
    [s.links.planned, s.links.connected, s.links.down],
    [s.relay.queuedItems, s.relay.held, s.relay.dropped],
    s.lag.map((l) => [l.region, sparse(l.total), sparse(l.recent), l.maxMs]),
  ]
}

const isCount = (v: unknown): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= MAX_FIGURE
const isFigure = (v: unknown): v is number =>
  typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= MAX_FIGURE
const isPeerId = (v: unknown): v is string => typeof v === 'string' && PEER_ID_RE.test(v)

/** Dense counts from `[index, count, ...]`; undefined unless indices ascend within range and counts are positive. */
function dense(v: unknown): number[] | undefined {
  if (!Array.isArray(v) || v.length % 2 !== 0 || v.length > 2 * LAG_BUCKETS) return undefined
  const out = new Array<number>(LAG_BUCKETS).fill(0)
  let last = -1
  for (let k = 0; k < v.length; k += 2) {
    const i = v[k]
    const c = v[k + 1]
    if (!Number.isSafeInteger(i) || (i as number) <= last || (i as number) >= LAG_BUCKETS)
      return undefined
    if (!isCount(c) || c === 0) return undefined
    out[i as number] = c
    last = i as number
  }
  return out
}

/** Reads the lag list; undefined when any row is malformed or a region repeats. */
function readLag(v: unknown): RegionLagCounts[] | undefined {
  if (!Array.isArray(v) || v.length > MESH_VIEW_CONSTANTS.maxRegions) return undefined
  const out: RegionLagCounts[] = []
  const seen = new Set<string>()
  for (const row of v) {
    if (!Array.isArray(row) || row.length < 4) return undefined
    const [region, t, r, maxMs] = row as unknown[]
    if (typeof region !== 'string' || !NAME_RE.test(region) || seen.has(region)) return undefined
    const total = dense(t)
    const recent = dense(r)
    if (total === undefined || recent === undefined || !isCount(maxMs)) return undefined
    seen.add(region)
    out.push({ region, total, recent, maxMs })
  }
  return out
}

/**
 * A summary received from a peer, checked: every field of the right type and within its
 * bounds, at most `maxRegions` regions and `maxDownLinks` ids. Elements after the known
 * ones are ignored (a newer node may add some).
 * @returns the summary, or undefined when anything is malformed (never throws)
 */
export function readSummary(v: unknown): NodeSummary | undefined {
  if (!Array.isArray(v) || v.length < 7 || v[0] !== SUMMARY_FORMAT) return undefined
  const [, bits, parent, clock, links, relay, lagRows] = v as unknown[]
  if (!Number.isSafeInteger(bits) || (bits as number) < 0 || (bits as number) > 0xffff)
    return undefined
  if (parent !== null && !isPeerId(parent)) return undefined
  if (!Array.isArray(clock) || clock.length < 3) return undefined
  const [correctionMs, meshOffsetMs, peersMeasured] = clock as unknown[]
  if (!isFigure(correctionMs) || !isFigure(meshOffsetMs) || !isCount(peersMeasured))
    return undefined
  if (!Array.isArray(links) || links.length < 3) return undefined
  const [planned, connected, down] = links as unknown[]
  if (!isCount(planned) || !isCount(connected) || !Array.isArray(down)) return undefined
  if (down.length > MESH_VIEW_CONSTANTS.maxDownLinks || !down.every(isPeerId)) return undefined
  if (!Array.isArray(relay) || relay.length < 3) return undefined
  const [queuedItems, held, dropped] = relay as unknown[]
  if (!isCount(queuedItems) || !isCount(held) || !isCount(dropped)) return undefined
  const lag = readLag(lagRows)
  if (lag === undefined) return undefined
  const b = bits as number
  return {
    ready: (b & BIT.ready) !== 0,
    hub: (b & BIT.hub) !== 0,
    parent: parent === null ? undefined : (parent as string),
    clockSkewed: (b & BIT.skewed) !== 0,
    refusingWrites: (b & BIT.refusing) !== 0,
    clock: { correctionMs, meshOffsetMs, peersMeasured },
    links: { planned, connected, down: down as string[] },
    relay: { queuedItems, held, dropped },
    lag,
  }
}
