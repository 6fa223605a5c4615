/**
 * The mesh view from the members' summaries: the region x region lag matrix (histograms
 * merged bucket by bucket, so percentiles are those of all the writes, not averages of
 * percentiles), members with their flags, and the links to draw. Pure: the summaries
 * and the time are parameters.
 * @module
 */
import type {
  MeshEdge,
  MeshMember,
  MeshMemberFlag,
  MeshView,
  RegionLag,
} from '../ports/mesh-view.js'
import { MESH_VIEW_CONSTANTS } from './defaults.js'
import { LAG_BUCKETS_MS } from './lag-histogram.js'
import { LAG_BUCKETS, type NodeSummary } from './node-summary.js'

/** Flags that make a member `behind`: it does not hold, or will not soon hold, what the others have. */
export const BEHIND_FLAGS: ReadonlySet<MeshMemberFlag> = new Set([
  'catching-up',
  'lagging',
  'dropping',
  'backlog',
])

/** A member as the viewing node knows it. */
export interface ViewMember {
  id: string
  region: string
  /** Its raw clock minus the viewer's, as the viewer measured it (connected peers only), ms. */
  measuredOffsetMs?: number
}

/** A member's last summary and when it arrived (the viewer's own: now). */
export interface SummaryEntry {
  summary: NodeSummary
  /** Wall-clock ms on the viewer when it arrived. */
  receivedAt: number
}

/** What {@link buildMeshView} works from. */
export interface ViewInput {
  /** The viewing node's id and region. */
  self: string
  region: string
  /** The viewer's wall clock, ms. */
  now: number
  /** Span of the summaries' recent figures, ms. */
  recentWindowMs: number
  /** A summary older than this flags its member `stale`, ms. */
  staleAfterMs: number
  /** Every member known, the viewer included (duplicates are ignored). */
  members: readonly ViewMember[]
  /** Summaries by member id (entries of ids not in `members` are ignored). */
  summaries: ReadonlyMap<string, SummaryEntry>
}

/** A cell being merged. */
interface Cell {
  nodes: number
  total: number[]
  recent: number[]
  maxMs: number
}

/**
 * A percentile of merged per-bucket counts: the upper bound of the bucket holding the
 * rank, at most `maxMs` (the +Inf bucket gives `maxMs`), as `LagHistogram` computes it.
 */
export function bucketPercentile(counts: readonly number[], q: number, maxMs: number): number {
  let count = 0
  for (const c of counts) count += c
  if (count === 0) return 0
  const rank = q * count
  let acc = 0
  for (let i = 0; i < counts.length; i++) {
    acc += counts[i]!
    if (acc >= rank) return Math.min(LAG_BUCKETS_MS[i] ?? maxMs, maxMs)
  }
  return maxMs
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0)
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/** The flags of one member. */
function flagsOf(
  entry: SummaryEntry | undefined,
  stale: boolean,
  recentP99: number,
): MeshMemberFlag[] {
  if (entry === undefined) return ['no-summary']
  const s = entry.summary
  const flags: MeshMemberFlag[] = []
  if (stale) flags.push('stale')
  if (!s.ready) flags.push('catching-up')
  if (s.clockSkewed) flags.push('clock-skewed')
  if (s.refusingWrites) flags.push('refusing-writes')
  if (recentP99 > MESH_VIEW_CONSTANTS.lagBehindMs) flags.push('lagging')
  if (s.relay.dropped > 0) flags.push('dropping')
  if (s.relay.queuedItems > MESH_VIEW_CONSTANTS.backlogItems) flags.push('backlog')
  if (s.links.connected < s.links.planned) flags.push('links-down')
  return flags
}

/** The view of the mesh: lag matrix, members, links. */
export function buildMeshView(input: ViewInput): MeshView {
  const { now, self } = input
  const known = new Map<string, ViewMember>()
  for (const m of input.members) if (!known.has(m.id)) known.set(m.id, m)
  const members = [...known.values()].sort(
    (a, b) => byName(a.region, b.region) || byName(a.id, b.id),
  )
  const cells = new Map<string, Cell>()
  const out: MeshMember[] = []
  const hubs: { id: string; region: string }[] = []
  const edges: MeshEdge[] = []
  const edgeKeys = new Set<string>()
  const edge = (a: string, b: string, kind: MeshEdge['kind']) => {
    const key = `${kind}\u0000${a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`}`
    if (a === b || !known.has(b) || edgeKeys.has(key)) return
    edgeKeys.add(key)
    edges.push({ a, b, kind })
  }
  for (const m of members) {
    const entry = input.summaries.get(m.id)
    const isSelf = m.id === self
    const stale = entry !== undefined && !isSelf && now - entry.receivedAt > input.staleAfterMs
    let worstRecentP99 = 0
    for (const l of entry?.summary.lag ?? []) {
      const key = `${m.region}\u0000${l.region}`
      let cell = cells.get(key)
      if (cell === undefined) {
        cell = {
          nodes: 0,
          total: new Array<number>(LAG_BUCKETS).fill(0),
          recent: new Array<number>(LAG_BUCKETS).fill(0),
          maxMs: 0,
        }
        cells.set(key, cell)
      }
      cell.nodes++
      cell.maxMs = Math.max(cell.maxMs, l.maxMs)
      for (let i = 0; i < LAG_BUCKETS; i++) {
        cell.total[i]! += l.total[i]!
        // A stale summary's recent window is long past.
        if (!stale) cell.recent[i]! += l.recent[i]!
      }
      if (!stale)
        worstRecentP99 = Math.max(worstRecentP99, bucketPercentile(l.recent, 0.99, l.maxMs))
    }
    const flags = flagsOf(entry, stale, worstRecentP99)
    const member: Omit<MeshMember, 'flags' | 'behind'> = {
      id: m.id,
      region: m.region,
      self: isSelf,
      hub: entry?.summary.hub === true,
    }
    if (entry !== undefined) {
      const s = entry.summary
      if (s.parent !== undefined) member.parent = s.parent
      member.summaryAgeMs = Math.max(0, now - entry.receivedAt)
      member.ready = s.ready
      member.links = { ...s.links, down: [...s.links.down] }
      member.clock = {
        ...s.clock,
        skewed: s.clockSkewed,
        refusingWrites: s.refusingWrites,
        ...(m.measuredOffsetMs === undefined ? {} : { measuredOffsetMs: m.measuredOffsetMs }),
      }
      member.queuedItems = s.relay.queuedItems
      member.droppedRecently = s.relay.dropped
      if (s.parent !== undefined) edge(m.id, s.parent, 'tree')
      for (const d of s.links.down) edge(m.id, d, 'down')
      if (s.hub && !stale) hubs.push(member)
    }
    // Flags last, where a reader of the JSON looks for the verdict.
    out.push({ ...member, flags, behind: flags.some((f) => BEHIND_FLAGS.has(f)) })
  }
  for (let i = 0; i < hubs.length; i++)
    for (let j = i + 1; j < hubs.length; j++)
      if (hubs[i]!.region !== hubs[j]!.region) edge(hubs[i]!.id, hubs[j]!.id, 'hubs')
  const lag: RegionLag[] = []
  for (const [key, c] of cells) {
    const [to, from] = key.split('\u0000') as [string, string]
    const recentCount = sum(c.recent)
    lag.push({
      to,
      from,
      nodes: c.nodes,
      count: sum(c.total),
      p50Ms: bucketPercentile(c.total, 0.5, c.maxMs),
      p99Ms: bucketPercentile(c.total, 0.99, c.maxMs),
      maxMs: c.maxMs,
      recentCount,
      recentP50Ms: bucketPercentile(c.recent, 0.5, c.maxMs),
      recentP99Ms: bucketPercentile(c.recent, 0.99, c.maxMs),
    })
  }
  lag.sort((a, b) => byName(a.to, b.to) || byName(a.from, b.from))
  return {
    node: self,
    region: input.region,
    at: now,
    recentWindowMs: input.recentWindowMs,
    regions: [...new Set(members.map((m) => m.region))].sort(byName),
    lag,
    members: out,
    edges,
    totals: {
      members: out.length,
      summarized: out.filter((m) => !m.flags.includes('no-summary')).length,
      flagged: out.filter((m) => m.flags.length > 0).length,
      behind: out.filter((m) => m.behind).length,
    },
  }
}
